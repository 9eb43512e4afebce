using Microsoft.Extensions.Logging;
using Serilog.Core;
using Serilog.Events;
using MelLevel = Microsoft.Extensions.Logging.LogLevel;

namespace ActorThrottle.Diagnostics;

/// <summary>
/// A Serilog <see cref="Serilog.ILogger"/> that writes to an <see cref="ILoggerFactory"/>, so the engine's events (written
/// with Serilog message templates) reach the host's <c>Microsoft.Extensions.Logging</c> pipeline with the same
/// properties. The category is the <c>SourceContext</c> (<c>ForContext&lt;T&gt;()</c>); the state is the event's
/// properties plus <c>{OriginalFormat}</c>, the template, as MEL's own structured logging gives it.
/// </summary>
internal sealed class LoggerFactoryBridge : Serilog.ILogger
{
    private const string DefaultCategory = "ActorThrottle";
    private readonly ILoggerFactory _factory;
    private readonly ILogger _logger;
    private readonly string _category;
    private readonly LogEventProperty[] _properties;

    public LoggerFactoryBridge(ILoggerFactory factory) : this(factory, DefaultCategory, [])
    {
    }

    private LoggerFactoryBridge(ILoggerFactory factory, string category, LogEventProperty[] properties)
    {
        _factory = factory;
        _category = category;
        _logger = factory.CreateLogger(category);
        _properties = properties;
    }

    public Serilog.ILogger ForContext(ILogEventEnricher enricher) => new EnrichedLogger(this, [enricher]);

    public Serilog.ILogger ForContext(IEnumerable<ILogEventEnricher> enrichers) => new EnrichedLogger(this, [.. enrichers]);

    public Serilog.ILogger ForContext(string propertyName, object? value, bool destructureObjects = false)
    {
        if (propertyName == Constants.SourceContextPropertyName && value is string category)
        {
            return new LoggerFactoryBridge(_factory, category, _properties);
        }
        var property = new LogEventProperty(propertyName, value as LogEventPropertyValue ?? new ScalarValue(value));
        return new LoggerFactoryBridge(_factory, _category, [.. _properties.Where(p => p.Name != propertyName), property]);
    }

    public Serilog.ILogger ForContext<TSource>() => ForContext(typeof(TSource));

    public Serilog.ILogger ForContext(Type source) => ForContext(Constants.SourceContextPropertyName, source.FullName ?? source.Name);

    public bool IsEnabled(LogEventLevel level) => _logger.IsEnabled(ToMel(level));

    public void Write(LogEvent logEvent)
    {
        var level = ToMel(logEvent.Level);
        if (!_logger.IsEnabled(level))
        {
            return;
        }
        foreach (var property in _properties)
        {
            logEvent.AddPropertyIfAbsent(property);
        }
        _logger.Log(level, default, new TemplateState(logEvent), logEvent.Exception, static (state, _) => state.ToString());
    }

    internal static MelLevel ToMel(LogEventLevel level) => level switch
    {
        LogEventLevel.Verbose => MelLevel.Trace,
        LogEventLevel.Debug => MelLevel.Debug,
        LogEventLevel.Information => MelLevel.Information,
        LogEventLevel.Warning => MelLevel.Warning,
        LogEventLevel.Error => MelLevel.Error,
        _ => MelLevel.Critical,
    };

    /// <summary>The event as MEL structured state: each property by name (scalars unwrapped), then <c>{OriginalFormat}</c>.</summary>
    private sealed class TemplateState(LogEvent logEvent) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        private readonly KeyValuePair<string, object?>[] _items =
        [
            .. logEvent.Properties.Select(p => new KeyValuePair<string, object?>(p.Key, p.Value is ScalarValue s ? s.Value : p.Value.ToString())),
            new("{OriginalFormat}", logEvent.MessageTemplate.Text),
        ];

        public KeyValuePair<string, object?> this[int index] => _items[index];

        public int Count => _items.Length;

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)_items).GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => _items.GetEnumerator();

        // Strings unquoted, as MEL's own formatter writes them (Serilog's rendering quotes them unless ":l").
        public override string ToString()
        {
            var output = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
            foreach (var token in logEvent.MessageTemplate.Tokens)
            {
                if (token is Serilog.Parsing.PropertyToken property && logEvent.Properties.TryGetValue(property.PropertyName, out var value)
                    && value is ScalarValue { Value: string } text)
                {
                    text.Render(output, "l", System.Globalization.CultureInfo.InvariantCulture);
                }
                else
                {
                    token.Render(logEvent.Properties, output, System.Globalization.CultureInfo.InvariantCulture);
                }
            }
            return output.ToString();
        }
    }

    /// <summary>Applies enrichers, then writes through the bridge (rarely used: the engine adds properties by name).</summary>
    private sealed class EnrichedLogger(LoggerFactoryBridge inner, ILogEventEnricher[] enrichers) : Serilog.ILogger, ILogEventPropertyFactory
    {
        public bool IsEnabled(LogEventLevel level) => inner.IsEnabled(level);

        public void Write(LogEvent logEvent)
        {
            foreach (var enricher in enrichers)
            {
                enricher.Enrich(logEvent, this);
            }
            inner.Write(logEvent);
        }

        public LogEventProperty CreateProperty(string name, object? value, bool destructureObjects = false) =>
            new(name, value as LogEventPropertyValue ?? new ScalarValue(value));
    }
}
