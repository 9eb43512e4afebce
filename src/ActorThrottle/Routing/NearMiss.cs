namespace ActorThrottle.Routing;

/// <summary>
/// Finds the configured model id an unknown one was probably meant to be ("gpt4o-mini" for "gpt-4o-mini"): a pure
/// function so the threshold is tested exhaustively; the router only logs what it returns.
/// </summary>
internal static class NearMiss
{
    /// <summary>
    /// The configured id closest to <paramref name="id"/> when it is a near miss: equal ignoring case, or within an edit
    /// distance of 1 (ids up to 10 characters: "gpt-4o" and "gpt-4.1" are two edits apart and different models) or 2
    /// (longer ids, where two slips still leave most of the name). Null
    /// when none is that close, or when <paramref name="id"/> is itself configured. Ties go to the first in ordinal order.
    /// </summary>
    public static string? Find(string id, IEnumerable<string> configured)
    {
        ArgumentNullException.ThrowIfNull(id);
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in configured.Order(StringComparer.Ordinal))
        {
            if (candidate == id)
            {
                return null;
            }
            var limit = Math.Max(id.Length, candidate.Length) <= 10 ? 1 : 2;
            var distance = string.Equals(candidate, id, StringComparison.OrdinalIgnoreCase) ? 0 : Distance(id, candidate, limit);
            if (distance <= limit && distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }
        return best;
    }

    /// <summary>Levenshtein distance (insert, delete, substitute), stopping early once it must exceed <paramref name="limit"/>.</summary>
    internal static int Distance(string a, string b, int limit)
    {
        if (Math.Abs(a.Length - b.Length) > limit)
        {
            return limit + 1;
        }
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            var rowMin = current[0];
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
                rowMin = Math.Min(rowMin, current[j]);
            }
            if (rowMin > limit)
            {
                return limit + 1;
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
