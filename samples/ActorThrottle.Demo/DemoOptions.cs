namespace ActorThrottle.Demo;

/// <summary>What the command line asked for. Null means "not given": the HOCON (<c>demo { … }</c>) decides.</summary>
internal sealed record DemoOptions
{
    /// <summary>A HOCON file merged over the demo's <c>demo.conf</c> (which is merged over the library's reference).</summary>
    public string? ConfigFile { get; init; }

    /// <summary>Total requests, spread round-robin over the models.</summary>
    public int? Requests { get; init; }

    /// <summary>Model ids to drive.</summary>
    public IReadOnlyList<string>? Models { get; init; }

    /// <summary>The user message of every request.</summary>
    public string? Prompt { get; init; }

    /// <summary><c>max_tokens</c> of every request.</summary>
    public int? MaxTokens { get; init; }

    /// <summary>Where to write the end table as JSON.</summary>
    public string? JsonFile { get; init; }

    /// <summary>Where to write a PNG of accepted calls, 429s and the engine's rate per second per model.</summary>
    public string? PlotFile { get; init; }

    /// <summary>Where to write the same per-second figures as CSV.</summary>
    public string? CsvFile { get; init; }

    /// <summary>Sets <c>actor-throttle.endpoint</c> and turns the simulator off.</summary>
    public Uri? Endpoint { get; init; }

    /// <summary>Where the per-attempt log events (Information and up) go.</summary>
    public string? LogFile { get; init; }

    /// <summary>Log Information and up (per-attempt events, Akka warnings) to stderr as well.</summary>
    public bool Verbose { get; init; }

    /// <summary>Stream every completion (<c>ChatStreamRequest</c>): report time to the first chunk and show one streamed answer.</summary>
    public bool Stream { get; init; }

    /// <summary>Send one request in four on the interactive lane and the rest as batch; report queueing per lane.</summary>
    public bool Priority { get; init; }

    /// <summary>
    /// Run one model over this many simulated deployments (real limits 20, 5, 10, 10 req/s; the first configured at its
    /// limit, the others <c>auto</c>); the report shows each deployment's share. Simulator only.
    /// </summary>
    public int? Deployments { get; init; }

    /// <summary>Plain periodic progress lines even on a terminal.</summary>
    public bool Plain { get; init; }

    /// <summary>Print the usage text and exit 0.</summary>
    public bool Help { get; init; }
}
