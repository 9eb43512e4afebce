namespace ActorThrottle.Messages;

/// <summary>
/// A list field of a message record that compares by content (a null list equals an empty one), so records holding one
/// still compare equal after a round trip through Akka's serializer. The list is kept as an array or a
/// <see cref="List{T}"/>: a collection expression's compiler-made list types cannot be rebuilt by Akka's default (JSON)
/// serializer when the message crosses Akka.Remote.
/// </summary>
internal readonly struct ValueList<T> : IEquatable<ValueList<T>>
{
    public ValueList(IReadOnlyList<T>? items) => Items = Portable(items);

    public IReadOnlyList<T>? Items { get; }

    public int Count => Items?.Count ?? 0;

    public bool Equals(ValueList<T> other)
    {
        if (Count != other.Count)
        {
            return false;
        }
        var comparer = EqualityComparer<T>.Default;
        for (var i = 0; i < Count; i++)
        {
            if (!comparer.Equals(Items![i], other.Items![i]))
            {
                return false;
            }
        }
        return true;
    }

    public override bool Equals(object? obj) => obj is ValueList<T> other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        for (var i = 0; i < Count; i++)
        {
            hash.Add(Items![i]);
        }
        return hash.ToHashCode();
    }

    public static IReadOnlyList<T>? Portable(IReadOnlyList<T>? items) => items switch
    {
        null => null,
        T[] or List<T> => items,
        _ => items.ToArray(),
    };
}
