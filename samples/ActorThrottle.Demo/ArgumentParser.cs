using System.Globalization;

namespace ActorThrottle.Demo;

/// <summary>The outcome of parsing: options, or one clear error message.</summary>
internal sealed record ParseResult(DemoOptions? Options, string? Error)
{
    public bool Ok => Error is null;
}

/// <summary>Parses the demo's command line. Pure: no I/O, no environment.</summary>
internal static class ArgumentParser
{
    public const int MaxRequests = 1_000_000;

    public const string Usage = """
        ActorThrottle demo: drives chat-completion requests through the engine and reports goodput per model.

        Usage: dotnet run --project samples/ActorThrottle.Demo -- [options]

        With no options it starts a simulated provider in-process whose real limits are lower than the
        demo's HOCON claims, so the engine has to learn them, and sends 400 requests to two models.

        Options:
          --config FILE      HOCON merged over the demo's demo.conf (itself over the library's reference):
                             actor-throttle { endpoint, api-key, defaults, models."id" { endpoint, api-key, ... } }
                             and demo { requests, models, prompt, max-tokens, simulator { ... } }.
                             If it sets any endpoint, the simulator is not started.
          --requests N       total requests, spread round-robin over the models (default: demo.requests = 400)
          --models a,b,...   model ids to drive (default: the models in --config's actor-throttle.models,
                             else demo.models)
          --prompt TEXT      the user message of every request (default: demo.prompt)
          --max-tokens N     max_tokens of every request (default: demo.max-tokens = 16)
          --json FILE        also write the end table as JSON to FILE
          --plot FILE        write a PNG of accepted calls, 429s and the engine's rate per second per model
          --csv FILE         write the same per-second figures as CSV (second, model, attempts, accepted,
                             rate_limited, engine_rate_per_s)
          --endpoint URL     send to URL instead of the simulator; sets actor-throttle.endpoint, the default
                             for models without an endpoint of their own
          --log FILE         write the engine's per-attempt events and Akka's log to FILE
          --verbose          also write those events to stderr (Warning and up by default go nowhere)
          --stream           stream every completion through the throttle (chunks, then one reply); the
                             report adds time to first chunk and prints one streamed answer chunk by chunk
          --priority         send every 4th request on the interactive lane and the rest as batch, all at
                             once; the report shows that interactive requests skip the batch backlog
          --deployments N    one model (the first of --models, default gpt-4o-mini) over N simulated
                             deployments (2 to 4; real limits 20, 5, 10, 10 req/s, the first configured at
                             its limit, the others auto); the report shows each deployment's share
          --plain            periodic plain progress lines even on a terminal
          -h, --help         this text

        API keys go only to the host they were configured for: a model's own api-key / api-key-env, else
        actor-throttle.api-key / api-key-env when the model uses actor-throttle.endpoint (or --endpoint),
        else COMETAPI_KEY for https://api.cometapi.com only, OPENAI_API_KEY for https://api.openai.com only.
        A model left without a key stops the demo (exit 3) unless allow-unauthenticated = on. Never printed.

        Exit codes: 0 every request was answered (with a completion or a typed failure); 2 bad arguments;
        3 unreadable or invalid configuration; 4 an endpoint is unreachable; 5 requests left unanswered;
        1 anything else.
        """;

    public static ParseResult Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new DemoOptions();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string name;
            string? inlineValue = null;
            if (arg.StartsWith("--", StringComparison.Ordinal) && arg.IndexOf('=') is var eq and > 2)
            {
                name = arg[..eq];
                inlineValue = arg[(eq + 1)..];
            }
            else
            {
                name = arg;
            }

            if (name is "-h" or "--help")
            {
                return new ParseResult(options with { Help = true }, null);
            }

            if (!name.StartsWith('-'))
            {
                return Fail($"Unexpected argument '{arg}': options start with '--'.");
            }

            if (!seen.Add(name))
            {
                return Fail($"Option {name} is given more than once.");
            }

            if (name is "--verbose" or "--plain" or "--stream" or "--priority")
            {
                if (inlineValue is not null)
                {
                    return Fail($"Option {name} takes no value.");
                }
                options = name switch
                {
                    "--verbose" => options with { Verbose = true },
                    "--plain" => options with { Plain = true },
                    "--stream" => options with { Stream = true },
                    _ => options with { Priority = true },
                };
                continue;
            }

            if (name is not ("--config" or "--requests" or "--models" or "--prompt" or "--max-tokens" or "--json" or "--plot" or "--csv" or "--endpoint" or "--log" or "--deployments"))
            {
                return Fail($"Unknown option '{name}'. Run with --help for the list.");
            }

            string value;
            if (inlineValue is not null)
            {
                value = inlineValue;
            }
            else if (i + 1 < args.Count && !(args[i + 1].StartsWith("--", StringComparison.Ordinal) && args[i + 1].Length > 2))
            {
                value = args[++i];
            }
            else
            {
                return Fail($"Option {name} needs a value.");
            }

            string? error;
            (options, error) = name switch
            {
                "--config" => NonBlank(name, value, v => options with { ConfigFile = v }),
                "--json" => NonBlank(name, value, v => options with { JsonFile = v }),
                "--plot" => NonBlank(name, value, v => options with { PlotFile = v }),
                "--csv" => NonBlank(name, value, v => options with { CsvFile = v }),
                "--log" => NonBlank(name, value, v => options with { LogFile = v }),
                "--prompt" => NonBlank(name, value, v => options with { Prompt = value }),
                "--requests" => PositiveInt(name, value, MaxRequests, v => options with { Requests = v }),
                "--max-tokens" => PositiveInt(name, value, 1_000_000, v => options with { MaxTokens = v }),
                "--deployments" => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var d) && d is >= 2 and <= DemoConfiguration.MaxDeployments
                    ? (options with { Deployments = d }, null)
                    : (null!, $"Option {name} must be a whole number from 2 to {DemoConfiguration.MaxDeployments} (was '{value}')."),
                "--models" => ModelList(name, value, options),
                "--endpoint" => EndpointUrl(name, value, options),
                _ => (options, $"Unknown option '{name}'."),
            };
            if (error is not null)
            {
                return Fail(error);
            }
        }
        return new ParseResult(options, null);
    }

    private static ParseResult Fail(string message) => new(null, message);

    private static (DemoOptions, string?) NonBlank(string name, string value, Func<string, DemoOptions> set) =>
        string.IsNullOrWhiteSpace(value) ? (null!, $"Option {name} needs a non-blank value.") : (set(value), null);

    private static (DemoOptions, string?) PositiveInt(string name, string value, int max, Func<int, DemoOptions> set)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1 || n > max)
        {
            return (null!, $"Option {name} must be a whole number from 1 to {max.ToString(CultureInfo.InvariantCulture)} (was '{value}').");
        }
        return (set(n), null);
    }

    private static (DemoOptions, string?) ModelList(string name, string value, DemoOptions options)
    {
        var parts = value.Split(',').Select(p => p.Trim()).ToList();
        if (parts.Count == 0 || parts.Any(string.IsNullOrEmpty))
        {
            return (null!, $"Option {name} must be a comma-separated list of model ids with no empty entry (was '{value}').");
        }
        var duplicate = parts.GroupBy(p => p, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            return (null!, $"Option {name} names model '{duplicate.Key}' more than once.");
        }
        return (options with { Models = parts }, null);
    }

    private static (DemoOptions, string?) EndpointUrl(string name, string value, DemoOptions options)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || string.IsNullOrEmpty(uri.Host))
        {
            return (null!, $"Option {name} must be an absolute http:// or https:// URL such as https://api.openai.com/v1 (was '{value}').");
        }
        if (!string.IsNullOrEmpty(uri.UserInfo) || !string.IsNullOrEmpty(uri.Query))
        {
            // A key in the URL would end up in logs; keys belong in HOCON or the environment.
            return (null!, $"Option {name} must not carry user info or a query string; put the API key in actor-throttle.api-key or api-key-env (COMETAPI_KEY / OPENAI_API_KEY are read for their own hosts).");
        }
        return (options with { Endpoint = uri }, null);
    }
}
