using System.Collections.Concurrent;
using Serilog.Core;
using Serilog.Events;

namespace ActorThrottle.Tests.Support;

/// <summary>Keeps every Serilog event, rendered and with its properties, so tests can search all log output.</summary>
public sealed class CapturingSink : ILogEventSink
{
    private readonly ConcurrentQueue<LogEvent> _events = new();

    public IReadOnlyList<LogEvent> Events => _events.ToArray();

    public void Emit(LogEvent logEvent) => _events.Enqueue(logEvent);

    /// <summary>Everything an event could put in a log file: message, properties, exception.</summary>
    public string AllText() => string.Join("\n", _events.Select(e =>
        e.RenderMessage() + " " + string.Join(" ", e.Properties.Select(p => p.Key + "=" + p.Value)) + " " + e.Exception));
}
