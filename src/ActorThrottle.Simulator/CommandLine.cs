using System.Globalization;

namespace ActorThrottle.Simulator;

/// <summary>The standalone program's arguments, parsed into options (deliberately simple: <c>--name value</c> and flags).</summary>
internal static class CommandLine
{
    public const string Usage = """
        ActorThrottle simulator: a rate-limited OpenAI-compatible provider on 127.0.0.1.

        dotnet run --project src/ActorThrottle.Simulator -- [options]

          --port N                 port (default 0: any free port)
          --api-key KEY            require 'Authorization: Bearer KEY'
          --model ID               a model to list and configure (repeatable; all get the settings below)
          --unknown-models M       serve | reject (default serve)
          --rps N                  requests per second (0 = none)
          --rps-burst N            capacity of the per-second bucket (default: rps)
          --rpm N                  requests per minute (0 = none)
          --rpm-burst N            capacity of the per-minute bucket (default: rpm)
          --tpm N                  tokens per minute (0 = none)
          --tpm-burst N            capacity of the token bucket (default: tpm)
          --accounting M           reserve | reconcile (default reserve)
          --default-max-tokens N   charged when a request names none (default 1024)
          --completion-tokens N    completion tokens per reply, capped at max_tokens (default 16)
          --latency-ms N           fixed latency after admission
          --jitter-ms N            uniform random extra latency (seeded)
          --error500 F, --error502 F, --error503 F, --reset-rate F, --hang-rate F
                                   fractions 0..1 of admitted requests with that fault
          --hang-ms N              how long a hang lasts (default 300000)
          --stream-chunk-tokens N  completion tokens per streamed content chunk (default 1: one per word)
          --stream-chunk-interval-ms N
                                   wait before each streamed content chunk (default 0)
          --stream-break-rate F    fraction 0..1 of admitted streams aborted mid-stream (default 0)
          --limit SPEC             a further limit of any algorithm (repeatable), e.g. fixed-window:20/1s,start=first-hit,charged
                                   SPEC = ALGORITHM:QUOTA[/WINDOW][,unit=requests|tokens][,burst=N][,start=clock|first-hit]
                                          [,max-delay=DURATION][,charged|free][,name=TEXT]
                                   ALGORITHM = token-bucket | gcra | fixed-window | sliding-log | sliding-window | concurrency
          --schedule STEPS         quota changes from the first request, e.g. 10s=0.4,20s=1,30s=outage:529,60s=1
          --headers M              openai (alias full) | none | retry-after | retry-after-date | azure | anthropic
                                   | ietf-draft7 | ietf-structured | ietf-separate (default openai)
          --charge-rejected        rejected requests still consume budget
          --insufficient-quota     answer every request 429 insufficient_quota
          --seed N                 seed of faults and latency (default 1)
          --verbose                ASP.NET Core logging on the console
          --help                   this text
        """;

    /// <summary>Parses arguments; returns null for <c>--help</c>.</summary>
    /// <exception cref="ArgumentException">An unknown option or a bad value (the message names it).</exception>
    public static SimulatorOptions? Parse(IReadOnlyList<string> args)
    {
        var options = new SimulatorOptions();
        var model = new ModelSettings();
        var models = new List<string>();
        var limits = new List<LimitSpec>();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            switch (name)
            {
                case "--help" or "-h" or "-?":
                    return null;
                case "--charge-rejected":
                    model = model with { ChargeRejected = true };
                    continue;
                case "--insufficient-quota":
                    model = model with { InsufficientQuota = true };
                    continue;
                case "--verbose":
                    options = options with { EnableLogging = true };
                    continue;
            }

            if (i + 1 >= args.Count)
            {
                throw new ArgumentException($"{name} needs a value (or it is unknown; see --help).");
            }

            var value = args[++i];
            switch (name)
            {
                case "--port": options = options with { Port = Int(name, value) }; break;
                case "--api-key": options = options with { ApiKey = value }; break;
                case "--model": models.Add(value); break;
                case "--unknown-models": options = options with { UnknownModels = Enum<UnknownModelPolicy>(name, value) }; break;
                case "--rps": model = model with { RequestsPerSecond = Number(name, value) }; break;
                case "--rps-burst": model = model with { RequestsPerSecondBurst = Number(name, value) }; break;
                case "--rpm": model = model with { RequestsPerMinute = Number(name, value) }; break;
                case "--rpm-burst": model = model with { RequestsPerMinuteBurst = Number(name, value) }; break;
                case "--tpm": model = model with { TokensPerMinute = Number(name, value) }; break;
                case "--tpm-burst": model = model with { TokensBurst = Number(name, value) }; break;
                case "--accounting": model = model with { TokenAccounting = Enum<TokenAccounting>(name, value) }; break;
                case "--default-max-tokens": model = model with { DefaultMaxTokens = Int(name, value) }; break;
                case "--completion-tokens": model = model with { CompletionTokens = Int(name, value) }; break;
                case "--latency-ms": model = model with { Latency = TimeSpan.FromMilliseconds(Number(name, value)) }; break;
                case "--jitter-ms": model = model with { LatencyJitter = TimeSpan.FromMilliseconds(Number(name, value)) }; break;
                case "--error500": model = model with { Error500Rate = Number(name, value) }; break;
                case "--error502": model = model with { Error502Rate = Number(name, value) }; break;
                case "--error503": model = model with { Error503Rate = Number(name, value) }; break;
                case "--reset-rate": model = model with { ResetRate = Number(name, value) }; break;
                case "--hang-rate": model = model with { HangRate = Number(name, value) }; break;
                case "--hang-ms": model = model with { HangDuration = TimeSpan.FromMilliseconds(Number(name, value)) }; break;
                case "--stream-chunk-tokens": model = model with { StreamChunkTokens = Int(name, value) }; break;
                case "--stream-chunk-interval-ms": model = model with { StreamChunkInterval = TimeSpan.FromMilliseconds(Number(name, value)) }; break;
                case "--stream-break-rate": model = model with { StreamBreakRate = Number(name, value) }; break;
                case "--headers":
                    model = model with
                    {
                        HeaderMode = RateLimitHeaderModeNames.TryParse(value, out var mode)
                            ? mode
                            : throw new ArgumentException($"{name} must be one of {RateLimitHeaderModeNames.All}, was '{value}'."),
                    };
                    break;
                case "--limit": limits.Add(Syntax(name, () => LimitSyntax.ParseLimit(value))); break;
                case "--schedule": model = model with { Schedule = Syntax(name, () => LimitSyntax.ParseSchedule(value)) }; break;
                case "--seed": model = model with { Seed = Int(name, value) }; break;
                default: throw new ArgumentException($"Unknown option {name} (see --help).");
            }
        }

        model = model with { Limits = limits };
        options = options with
        {
            DefaultModel = model,
            Models = models.Distinct(StringComparer.Ordinal).ToDictionary(m => m, _ => model, StringComparer.Ordinal),
        };
        options.Validate();
        return options;
    }

    private static T Syntax<T>(string name, Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (FormatException e)
        {
            throw new ArgumentException($"{name}: {e.Message}", e);
        }
    }

    private static double Number(string name, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw new ArgumentException($"{name} needs a number, was '{value}'.");

    private static int Int(string name, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw new ArgumentException($"{name} needs an integer, was '{value}'.");

    private static T Enum<T>(string name, string value)
        where T : struct, Enum =>
        System.Enum.TryParse<T>(value, ignoreCase: true, out var parsed) && System.Enum.IsDefined(parsed)
            ? parsed
            : throw new ArgumentException($"{name} must be one of {string.Join(", ", System.Enum.GetNames<T>()).ToLowerInvariant()}, was '{value}'.");
}
