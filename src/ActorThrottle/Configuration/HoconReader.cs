using System.Globalization;
using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace ActorThrottle.Configuration;

/// <summary>
/// Reads typed values from a HOCON block and turns every failure into an
/// <see cref="ActorThrottleConfigurationException"/> that names the full path.
/// </summary>
internal sealed class HoconReader
{
    private readonly Config _config;
    private readonly Func<string, string> _describePath;

    /// <param name="config">The block to read.</param>
    /// <param name="describePath">Maps a key inside the block to the full HOCON path shown in errors.</param>
    public HoconReader(Config config, Func<string, string> describePath)
    {
        _config = config;
        _describePath = describePath;
    }

    public string Path(string key) => _describePath(key);

    public bool Has(string key) => _config.HasPath(key);

    public string RawString(string key)
    {
        Require(key);
        HoconValue? value;
        try
        {
            value = _config.GetValue(key);
        }
        catch (Exception e)
        {
            throw new ActorThrottleConfigurationException(Path(key), null, "expected a single value.", e);
        }
        // Akka's GetString turns a block, a list or a missing value ("key =" with nothing after it) into "",
        // which would silently fall back to a default; name the real problem instead. The value is not echoed:
        // it may be a secret.
        if (value is null || value.Values.Count == 0)
        {
            throw new ActorThrottleConfigurationException(Path(key), null, "has no value (is the text after '=' missing?).");
        }
        if (value.Values.OfType<HoconSubstitution>().FirstOrDefault() is { } substitution && value.IsObject())
        {
            // Akka's HOCON resolves an unset optional substitution (${?VAR}) to the document's root. For a key read as
            // a string that means "not set" (empty: the next source applies, as for api-key = ${?OPENAI_API_KEY}).
            return "";
        }
        if (value.IsObject())
        {
            throw new ActorThrottleConfigurationException(Path(key), null, "expected a single value, found a block { ... }.");
        }
        if (value.IsArray() || !value.IsString())
        {
            throw new ActorThrottleConfigurationException(Path(key), null, "expected a single value, found a list or a mixed value.");
        }
        try
        {
            return value.GetString() ?? "";
        }
        catch (Exception e)
        {
            throw new ActorThrottleConfigurationException(Path(key), null, "expected a single value.", e);
        }
    }

    /// <summary>A HOCON boolean: on/off, true/false, yes/no.</summary>
    public bool Bool(string key)
    {
        var raw = RawString(key).Trim().ToLowerInvariant();
        return raw switch
        {
            "on" or "true" or "yes" => true,
            "off" or "false" or "no" => false,
            _ => throw new ActorThrottleConfigurationException(Path(key), raw, "expected on or off."),
        };
    }

    public double Double(string key, double min, double? max = null, bool minExclusive = false)
    {
        var raw = RawString(key).Trim();
        if (!double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || double.IsNaN(value) || double.IsInfinity(value))
        {
            throw new ActorThrottleConfigurationException(Path(key), Quote(raw), "expected a number.");
        }
        CheckRange(key, raw, value, min, max, minExclusive);
        return value;
    }

    /// <summary>
    /// A number, or the word <c>auto</c> (null): for limits the engine may learn instead of being told. Errors name both
    /// forms, so a typo such as <c>requests-per-second = atuo</c> says what is accepted.
    /// </summary>
    public double? DoubleOrAuto(string key, double min, bool minExclusive = false)
    {
        var raw = RawString(key).Trim();
        if (string.Equals(raw, "auto", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        if (!double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || double.IsNaN(value) || double.IsInfinity(value))
        {
            throw new ActorThrottleConfigurationException(Path(key), Quote(raw), "expected a number or auto.");
        }
        CheckRange(key, raw, value, min, null, minExclusive);
        return value;
    }

    /// <summary>A whole number, or the word <c>auto</c> (null); see <see cref="DoubleOrAuto"/>.</summary>
    public long? LongOrAuto(string key, long min)
    {
        var raw = RawString(key).Trim();
        if (string.Equals(raw, "auto", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        if (!long.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            throw new ActorThrottleConfigurationException(Path(key), Quote(raw), "expected a whole number or auto.");
        }
        CheckRange(key, raw, value, min, null, false);
        return value;
    }

    public long Long(string key, long min, long? max = null)
    {
        var raw = RawString(key).Trim();
        if (!long.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            throw new ActorThrottleConfigurationException(Path(key), Quote(raw), "expected a whole number.");
        }
        CheckRange(key, raw, value, min, max, false);
        return value;
    }

    public int Int(string key, int min, int? max = null) => (int)Long(key, min, max ?? int.MaxValue);

    public TimeSpan Duration(string key, TimeSpan min, bool minExclusive = false)
    {
        var raw = RawString(key).Trim();
        // Akka reads a bare number as milliseconds (request-timeout = 60 would be 60 ms): demand a unit, except for 0.
        if (double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var bare) && bare != 0)
        {
            throw new ActorThrottleConfigurationException(Path(key), Quote(raw), $"a duration needs a unit, such as {raw}ms or {raw}s.");
        }
        TimeSpan value;
        try
        {
            value = _config.GetTimeSpan(key, null, allowInfinite: false);
        }
        catch (Exception e)
        {
            throw new ActorThrottleConfigurationException(Path(key), Quote(raw), "expected a non-negative duration with a unit, such as 500ms, 1s, 2m or \"1 second\".", e);
        }
        if (value < min || (minExclusive && value == min))
        {
            throw new ActorThrottleConfigurationException(Path(key), Quote(raw), $"must be {(minExclusive ? "greater than" : "at least")} {FormatDuration(min)}.");
        }
        return value;
    }

    public TEnum Enum<TEnum>(string key) where TEnum : struct, System.Enum
    {
        var raw = RawString(key).Trim();
        foreach (var name in System.Enum.GetNames<TEnum>())
        {
            if (string.Equals(ToKebab(name), raw, StringComparison.OrdinalIgnoreCase) || string.Equals(name, raw, StringComparison.OrdinalIgnoreCase))
            {
                return System.Enum.Parse<TEnum>(name);
            }
        }
        var allowed = string.Join(" | ", System.Enum.GetNames<TEnum>().Select(ToKebab));
        throw new ActorThrottleConfigurationException(Path(key), Quote(raw), $"expected one of: {allowed}.");
    }

    /// <summary>An absolute http(s) URL, or null when the value is empty.</summary>
    public Uri? OptionalUrl(string key)
    {
        var raw = Has(key) ? RawString(key).Trim() : "";
        if (raw.Length == 0)
        {
            return null;
        }
        if (!Uri.TryCreate(raw, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || string.IsNullOrEmpty(uri.Host))
        {
            throw new ActorThrottleConfigurationException(Path(key), Quote(raw), "expected an absolute http:// or https:// URL.");
        }
        return uri;
    }

    /// <summary>A list of non-blank strings (empty when the key is absent).</summary>
    public IReadOnlyList<string> StringList(string key)
    {
        if (!Has(key))
        {
            return [];
        }
        IList<string> values;
        try
        {
            var value = _config.GetValue(key);
            // Akka reports an empty list as neither a list nor a string.
            if (value is null || (!value.IsArray() && value.IsString()) || value.IsObject())
            {
                throw new ActorThrottleConfigurationException(Path(key), null, "expected a list such as [\"model-a\", \"model-b\"].");
            }
            values = _config.GetStringList(key);
        }
        catch (ActorThrottleConfigurationException)
        {
            throw;
        }
        catch (Exception e)
        {
            throw new ActorThrottleConfigurationException(Path(key), null, "expected a list of strings.", e);
        }
        for (var i = 0; i < values.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(values[i]))
            {
                throw new ActorThrottleConfigurationException(Path(key), null, $"item {i} is blank.");
            }
        }
        return values.Select(v => v.Trim()).ToList();
    }

    /// <summary>A secret; errors never echo it.</summary>
    public ApiKey? OptionalSecret(string key)
    {
        var raw = Has(key) ? RawString(key).Trim() : "";
        return raw.Length == 0 ? null : new ApiKey(raw);
    }

    private void Require(string key)
    {
        if (!_config.HasPath(key))
        {
            throw new ActorThrottleConfigurationException(Path(key), null, "missing (the reference configuration sets it; was it removed or set to null?).");
        }
    }

    private void CheckRange(string key, string raw, double value, double min, double? max, bool minExclusive)
    {
        if (value < min || (minExclusive && value <= min))
        {
            throw new ActorThrottleConfigurationException(Path(key), raw, $"must be {(minExclusive ? "greater than" : "at least")} {min.ToString(CultureInfo.InvariantCulture)}.");
        }
        if (max is { } upper && value > upper)
        {
            throw new ActorThrottleConfigurationException(Path(key), raw, $"must be at most {upper.ToString(CultureInfo.InvariantCulture)}.");
        }
    }

    internal static string FormatDuration(TimeSpan value) =>
        value == TimeSpan.Zero ? "0"
        : value.Ticks % TimeSpan.TicksPerSecond == 0 ? $"{(long)value.TotalSeconds}s"
        : $"{value.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms";

    private static string Quote(string raw) => $"\"{raw}\"";

    internal static string ToKebab(string name)
    {
        var chars = new List<char>(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
            {
                chars.Add('-');
            }
            chars.Add(char.ToLowerInvariant(name[i]));
        }
        return new string(chars.ToArray());
    }
}
