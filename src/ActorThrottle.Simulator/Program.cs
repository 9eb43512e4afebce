using System.Runtime.InteropServices;

namespace ActorThrottle.Simulator;

/// <summary>The standalone entry point: parse arguments, start, print the base URL, run until Ctrl+C or SIGTERM.</summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        SimulatorOptions? options;
        try
        {
            options = CommandLine.Parse(args);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync(e.Message);
            return 2;
        }

        if (options is null)
        {
            Console.WriteLine(CommandLine.Usage);
            return 0;
        }

        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.TrySetResult();
        };
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.TrySetResult();
        });

        SimulatedProvider provider;
        try
        {
            provider = await SimulatedProvider.StartNewAsync(options);
        }
        catch (IOException e)
        {
            // Typically the port is taken; a stack trace would bury that.
            await Console.Error.WriteLineAsync($"Could not start: {e.Message}");
            return 1;
        }

        await using var _ = provider;
        Console.WriteLine($"ActorThrottle simulator listening on {provider.BaseUrl} (OpenAI base URL: {provider.ApiBaseUrl})");
        Console.WriteLine("Admin: GET /admin/stats, GET|PUT|PATCH /admin/models/{id}, DELETE /admin/stats. Ctrl+C to stop.");
        await stop.Task;
        await provider.StopAsync();
        return 0;
    }
}
