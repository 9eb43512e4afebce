using ActorThrottle.Demo;
using Spectre.Console;

var parsed = ArgumentParser.Parse(args);
if (!parsed.Ok)
{
    Console.Error.WriteLine($"error: {parsed.Error}");
    Console.Error.WriteLine("Run with --help for usage.");
    return ExitCodes.BadArguments;
}
var options = parsed.Options!;
if (options.Help)
{
    Console.WriteLine(ArgumentParser.Usage);
    return ExitCodes.Ok;
}

// Live table only on a real terminal; redirected output (CI, files) gets plain lines and a wide end table.
var interactive = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
if (Console.IsOutputRedirected)
{
    AnsiConsole.Profile.Width = 120;
}
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // First Ctrl+C: withdraw what is pending (answered Cancelled) and still print the report.
    e.Cancel = true;
    cancel.Cancel();
};
try
{
    var runner = new DemoRunner(AnsiConsole.Console, Console.Error, live: interactive && !options.Plain);
    return await runner.RunAsync(options, cancel.Token);
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("Cancelled.");
    return ExitCodes.Unexpected;
}
