namespace ActorThrottle.Configuration;

/// <summary>
/// An API key that never prints itself: <see cref="ToString"/>, records that hold it and
/// log lines show only <c>***</c>. Call <see cref="Reveal"/> where the key is sent.
/// </summary>
public sealed class ApiKey : IEquatable<ApiKey>
{
    private readonly string _value;

    public ApiKey(string value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new ArgumentException("An API key must not be blank.", nameof(value));
        }
        _value = value;
    }

    /// <summary>The key itself, for the Authorization header and nothing else.</summary>
    public string Reveal() => _value;

    public override string ToString() => "***";

    public bool Equals(ApiKey? other) => other is not null && string.Equals(_value, other._value, StringComparison.Ordinal);

    public override bool Equals(object? obj) => Equals(obj as ApiKey);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(_value);
}
