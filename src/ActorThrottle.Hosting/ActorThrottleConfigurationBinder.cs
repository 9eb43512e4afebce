using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using ActorThrottle.Configuration;
using Microsoft.Extensions.Configuration;

namespace ActorThrottle.Hosting;

/// <summary>
/// Turns an <see cref="IConfigurationSection"/> (appsettings.json, environment variables, any provider) into the
/// <c>actor-throttle { … }</c> HOCON it stands for, so both syntaxes go through the same reader and validation. The keys
/// are the reference configuration's, in PascalCase (<c>Defaults:Retry:MaxAttempts</c> is
/// <c>defaults.retry.max-attempts</c>); the kebab form is read too. Model ids under <c>Models</c> are kept verbatim, dots
/// included. Lists are JSON arrays; durations take HOCON's form (<c>"60s"</c>, <c>"250ms"</c>) or .NET's
/// (<c>"00:01:00"</c>).
/// </summary>
public static partial class ActorThrottleConfigurationBinder
{
    /// <summary>The HOCON text for <paramref name="section"/>, and for each value written, its configuration path by HOCON path.</summary>
    public static (string Hocon, IReadOnlyDictionary<string, string> ConfigurationPaths) ToHocon(IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var hocon = new StringBuilder();
        var paths = new Dictionary<string, string>(StringComparer.Ordinal);
        hocon.AppendLine($"{ActorThrottleSettings.RootPath} {{");
        WriteBlock(hocon, paths, section, ActorThrottleSettings.RootPath, underModels: false, depth: 1);
        hocon.AppendLine("}");
        return (hocon.ToString(), paths);
    }

    /// <summary>
    /// <paramref name="error"/> with the configuration path added beside the HOCON one: the path the section gave
    /// when the value came from it, else the same key spelt as a configuration path under <paramref name="sectionPath"/>.
    /// </summary>
    public static ActorThrottleConfigurationException WithConfigurationPath(ActorThrottleConfigurationException error,
        IReadOnlyDictionary<string, string> configurationPaths, string sectionPath)
    {
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(configurationPaths);
        return new ActorThrottleConfigurationException(error, ConfigurationPathOf(error.Path, configurationPaths, sectionPath));
    }

    /// <summary>The configuration path of a HOCON path: the one the section gave when the value came from it, else the key spelt under <paramref name="sectionPath"/>.</summary>
    internal static string ConfigurationPathOf(string hoconPath, IReadOnlyDictionary<string, string> configurationPaths, string sectionPath) =>
        configurationPaths.TryGetValue(Normalise(hoconPath), out var known) ? known : ToConfigurationPath(hoconPath, sectionPath);

    /// <summary>A HOCON path under <c>actor-throttle</c> spelt as a configuration path: <c>Section:Defaults:Retry:MaxAttempts</c>.</summary>
    public static string ToConfigurationPath(string hoconPath, string sectionPath)
    {
        ArgumentNullException.ThrowIfNull(hoconPath);
        var segments = SplitHoconPath(hoconPath);
        var parts = new List<string> { sectionPath };
        for (var i = 1; i < segments.Count; i++)
        {
            // The segment after "models" is a model id: verbatim.
            parts.Add(i == 2 && segments[1] == "models" ? segments[i] : ToPascal(segments[i]));
        }
        return string.Join(':', parts);
    }

    // The reference's list-valued keys: the only place an empty string means an empty JSON array.
    private static readonly HashSet<string> ListKeys = new(StringComparer.Ordinal) { "fallbacks" };

    private static void WriteBlock(StringBuilder hocon, Dictionary<string, string> paths, IConfigurationSection section, string hoconPath, bool underModels, int depth)
    {
        var indent = new string(' ', depth * 2);
        foreach (var child in section.GetChildren())
        {
            var key = underModels ? child.Key : ToKebab(child.Key);
            var segment = underModels || !IsBareKey(key) ? Quote(key) : key;
            var childPath = $"{hoconPath}.{segment}";
            var children = child.GetChildren().ToList();
            if (children.Count == 0)
            {
                if (child.Value is null && underModels)
                {
                    hocon.AppendLine($"{indent}{segment} {{}}");   // "gpt-4.1": {} configures the model with the defaults
                    continue;
                }
                if (child.Value is null)
                {
                    continue;                 // JSON null (or an empty object): nothing set, the next source applies
                }
                // An empty JSON array arrives as "": for a list key that is the empty list (a model clearing the defaults' fallbacks).
                var value = child.Value.Length == 0 && ListKeys.Contains(key) ? "[]" : Quote(Value(child.Value));
                hocon.AppendLine($"{indent}{segment} = {value}");
                paths[Normalise(childPath)] = child.Path;
            }
            else if (!underModels && children.All(c => int.TryParse(c.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
            {
                var elements = children.OrderBy(c => int.Parse(c.Key, CultureInfo.InvariantCulture)).ToList();
                if (elements.Any(c => c.GetChildren().Any()))
                {
                    // A JSON array of objects ("Deployments": [ { "Endpoint": … }, … ]): a HOCON list of blocks, one per line,
                    // each element's values named by their HOCON path (…deployments[1].endpoint) for error messages.
                    hocon.AppendLine($"{indent}{segment} = [");
                    for (var i = 0; i < elements.Count; i++)
                    {
                        hocon.AppendLine($"{indent}  {{");
                        WriteBlock(hocon, paths, elements[i], $"{childPath}[{i.ToString(CultureInfo.InvariantCulture)}]", underModels: false, depth + 2);
                        hocon.AppendLine($"{indent}  }}");
                    }
                    hocon.AppendLine($"{indent}]");
                    continue;
                }
                // A JSON array ("Fallbacks": ["a", "b"]) arrives as Fallbacks:0, Fallbacks:1.
                var items = children.OrderBy(c => int.Parse(c.Key, CultureInfo.InvariantCulture)).Select(c => Quote(c.Value ?? ""));
                hocon.AppendLine($"{indent}{segment} = [{string.Join(", ", items)}]");
                paths[Normalise(childPath)] = child.Path;
            }
            else
            {
                hocon.AppendLine($"{indent}{segment} {{");
                WriteBlock(hocon, paths, child, childPath, underModels: !underModels && depth == 1 && key == "models", depth + 1);
                hocon.AppendLine($"{indent}}}");
            }
        }
    }

    // .NET's TimeSpan text ([d.]hh:mm:ss[.fffffff]) becomes milliseconds, which HOCON reads; everything else is passed as it is.
    private static string Value(string raw)
    {
        var trimmed = raw.Trim();
        return TimeSpanText().IsMatch(trimmed) && TimeSpan.TryParse(trimmed, CultureInfo.InvariantCulture, out var span)
            ? span.TotalMilliseconds.ToString("R", CultureInfo.InvariantCulture) + "ms"
            : raw;
    }

    [GeneratedRegex(@"^-?(\d+\.)?\d{1,2}:\d{2}:\d{2}(\.\d{1,7})?$", RegexOptions.CultureInvariant)]
    private static partial Regex TimeSpanText();

    /// <summary>PascalCase (or camelCase) to kebab: <c>MaxInFlight</c> → <c>max-in-flight</c>; kebab stays as it is.</summary>
    internal static string ToKebab(string key)
    {
        var text = new StringBuilder(key.Length + 4);
        for (var i = 0; i < key.Length; i++)
        {
            var c = key[i];
            if (char.IsUpper(c) && i > 0 && key[i - 1] != '-'
                && (char.IsLower(key[i - 1]) || char.IsDigit(key[i - 1]) || (i + 1 < key.Length && char.IsLower(key[i + 1]))))
            {
                text.Append('-');
            }
            text.Append(char.ToLowerInvariant(c));
        }
        return text.ToString();
    }

    private static string ToPascal(string kebab) =>
        string.Concat(kebab.Split('-', StringSplitOptions.RemoveEmptyEntries).Select(p => char.ToUpperInvariant(p[0]) + p[1..]));

    private static bool IsBareKey(string key) => key.Length > 0 && key.All(c => char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_');

    // JSON string syntax is valid HOCON quoted-string syntax, escapes included.
    private static string Quote(string value) => JsonSerializer.Serialize(value);

    /// <summary>A HOCON path with its quotes removed, so <c>models."gpt-4o".x</c> and <c>models.gpt-4o.x</c> match.</summary>
    private static string Normalise(string hoconPath) => string.Join('\u0001', SplitHoconPath(hoconPath));

    private static List<string> SplitHoconPath(string path)
    {
        var segments = new List<string>();
        var current = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < path.Length; i++)
        {
            var c = path[i];
            if (c == '"')
            {
                quoted = !quoted;
            }
            else if (c == '\\' && quoted && i + 1 < path.Length)
            {
                current.Append(path[++i]);
            }
            else if (c == '.' && !quoted)
            {
                segments.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(c);
            }
        }
        segments.Add(current.ToString());
        return segments;
    }
}
