namespace ActorThrottle.Messages;

/// <summary>
/// OpenAI's <c>tool_choice</c>: whether the model may (<see cref="Auto"/>), must not (<see cref="None"/>) or must
/// (<see cref="Required"/>) call a tool, or must call one named function (<see cref="Function"/>).
/// </summary>
/// <param name="Mode">One of <see cref="Modes"/>: <c>auto</c>, <c>none</c>, <c>required</c>, <c>function</c>.</param>
/// <param name="FunctionName">With mode <c>function</c>: the function to call.</param>
public sealed record ToolChoice(string Mode, string? FunctionName = null)
{
    public const string AutoMode = "auto";
    public const string NoneMode = "none";
    public const string RequiredMode = "required";
    public const string FunctionMode = "function";

    /// <summary>The modes a <see cref="ToolChoice"/> may have.</summary>
    public static readonly IReadOnlySet<string> Modes =
        new HashSet<string>(StringComparer.Ordinal) { AutoMode, NoneMode, RequiredMode, FunctionMode };

    /// <summary>The model decides (the provider's default when tools are given).</summary>
    public static ToolChoice Auto { get; } = new(AutoMode);

    /// <summary>The model answers with text and calls no tool.</summary>
    public static ToolChoice None { get; } = new(NoneMode);

    /// <summary>The model calls at least one tool.</summary>
    public static ToolChoice Required { get; } = new(RequiredMode);

    /// <summary>The model calls the function named <paramref name="name"/>.</summary>
    public static ToolChoice Function(string name) => new(FunctionMode, name);
}
