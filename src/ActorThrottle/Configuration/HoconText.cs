using Akka.Configuration.Hocon;

namespace ActorThrottle.Configuration;

/// <summary>
/// Checks HOCON text that Akka's parser would accept while dropping part of it: Akka stops silently at a stray
/// <c>}</c> (everything after it is lost), accepts an unterminated string, an unclosed block and a key with no value.
/// </summary>
internal static class HoconText
{
    /// <summary>Throws <see cref="ActorThrottleConfigurationException"/> on unbalanced braces/brackets or an unterminated string.</summary>
    public static void CheckStructure(string text, string path)
    {
        var open = new Stack<(char Bracket, int Line, int Column)>();
        var line = 1;
        var column = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            column++;
            if (c == '\n')
            {
                line++;
                column = 0;
                continue;
            }
            if (c == '#' || (c == '/' && i + 1 < text.Length && text[i + 1] == '/'))
            {
                while (i + 1 < text.Length && text[i + 1] != '\n')
                {
                    i++;
                }
                continue;
            }
            if (c == '"')
            {
                var (startLine, startColumn) = (line, column);
                if (i + 2 < text.Length && text[i + 1] == '"' && text[i + 2] == '"')
                {
                    var end = text.IndexOf("\"\"\"", i + 3, StringComparison.Ordinal);
                    if (end < 0)
                    {
                        throw Error(path, startLine, startColumn, "a \"\"\" string is never closed.");
                    }
                    for (var j = i; j < end + 3; j++)
                    {
                        if (text[j] == '\n')
                        {
                            line++;
                            column = 0;
                        }
                        else
                        {
                            column++;
                        }
                    }
                    i = end + 2;
                    continue;
                }
                var closed = false;
                for (i++; i < text.Length && text[i] != '\n'; i++)
                {
                    column++;
                    if (text[i] == '\\')
                    {
                        i++;
                        column++;
                        continue;
                    }
                    if (text[i] == '"')
                    {
                        closed = true;
                        break;
                    }
                }
                if (!closed)
                {
                    throw Error(path, startLine, startColumn, "a quoted string is not closed on its line.");
                }
                continue;
            }
            switch (c)
            {
                case '{':
                case '[':
                    open.Push((c, line, column));
                    break;
                case '}':
                case ']':
                    var expected = c == '}' ? '{' : '[';
                    if (open.Count == 0)
                    {
                        throw Error(path, line, column, $"'{c}' closes nothing (Akka would silently drop the rest of the text).");
                    }
                    var top = open.Pop();
                    if (top.Bracket != expected)
                    {
                        throw Error(path, line, column, $"'{c}' does not match the '{top.Bracket}' opened at line {top.Line}, column {top.Column}.");
                    }
                    break;
            }
        }
        if (open.Count > 0)
        {
            var (bracket, l, col) = open.Peek();
            throw Error(path, l, col, $"'{bracket}' is never closed.");
        }
    }

    /// <summary>Throws when a key anywhere under <paramref name="root"/> has no value (<c>key =</c> with nothing after it, or a stray word).</summary>
    public static void CheckValues(HoconValue root, string rootPath)
    {
        if (!IsPlainObject(root))
        {
            return;
        }
        foreach (var (key, value) in root.GetObject().Items)
        {
            var path = rootPath.Length == 0 ? Segment(key) : $"{rootPath}.{Segment(key)}";
            if (value is null || value.Values.Count == 0)
            {
                throw new ActorThrottleConfigurationException(path, null, "has no value (is the text after the key missing, or is a '=' or ',' out of place?).");
            }
            CheckValues(value, path);
        }
    }

    /// <summary>Every leaf path under <paramref name="root"/> (empty blocks count as leaves), keys quoted where HOCON needs it.</summary>
    public static IEnumerable<string> LeafPaths(HoconValue root, string rootPath)
    {
        if (!IsPlainObject(root) || root.GetObject().Items.Count == 0)
        {
            yield return rootPath;
            yield break;
        }
        foreach (var (key, value) in root.GetObject().Items)
        {
            var path = rootPath.Length == 0 ? Segment(key) : $"{rootPath}.{Segment(key)}";
            foreach (var leaf in LeafPaths(value, path))
            {
                yield return leaf;
            }
        }
    }

    // key = ${VAR} or key = ${?VAR}, with an optional comma after it; VAR in environment-variable style.
    private static readonly System.Text.RegularExpressions.Regex EnvironmentAssignment = new(
        """(?<assign>(?<key>"(?:[^"\\]|\\.)*"|[A-Za-z0-9_\-.]+(?:\."(?:[^"\\]|\\.)*")*)\s*[=:]\s*)\$\{(?<optional>\?)?(?<var>[A-Z_][A-Z0-9_]*)\}(?<comma>\s*,)?""",
        System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>
    /// Expands environment substitutions (<c>${VAR}</c>, <c>${?VAR}</c> with VAR in upper case) from
    /// <paramref name="environment"/>: a set variable becomes a quoted string; an unset optional one removes the
    /// assignment (HOCON's meaning: the key keeps the value it had); an unset required one is an error naming the
    /// key and the variable. Other substitutions (<c>${some.path}</c>) are left to Akka.
    /// </summary>
    public static string ExpandEnvironment(string text, Func<string, string?> environment)
    {
        return EnvironmentAssignment.Replace(text, match =>
        {
            var variable = match.Groups["var"].Value;
            var value = environment(variable);
            if (value is not null)
            {
                return match.Groups["assign"].Value + System.Text.Json.JsonSerializer.Serialize(value) + match.Groups["comma"].Value;
            }
            if (match.Groups["optional"].Success)
            {
                return "";
            }
            throw new ActorThrottleConfigurationException(match.Groups["key"].Value, null,
                $"the environment variable {variable} is not set (write ${{?{variable}}} to make it optional).");
        });
    }

    /// <summary>
    /// An object to walk into. A value holding a substitution is a leaf: Akka's HOCON resolves an unset optional
    /// substitution (<c>${?VAR}</c>) to the document's root, so walking into it would never end.
    /// </summary>
    private static bool IsPlainObject(HoconValue value) =>
        !value.Values.Any(part => part is Akka.Configuration.Hocon.HoconSubstitution) && value.IsObject();

    /// <summary>A path segment as written in HOCON: bare when it is a plain word, quoted otherwise.</summary>
    public static string Segment(string key) =>
        key.Length > 0 && key.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_') ? key : ActorThrottleSettings.QuoteKey(key);

    private static ActorThrottleConfigurationException Error(string path, int line, int column, string problem) =>
        new(path, null, $"the HOCON text does not parse: line {line}, column {column}: {problem}");
}
