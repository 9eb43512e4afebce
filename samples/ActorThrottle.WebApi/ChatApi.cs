using ActorThrottle.Hosting;
using ActorThrottle.Hosting.Health;
using ActorThrottle.Limits;
using ActorThrottle.Messages;
using Akka.Hosting;
using Microsoft.AspNetCore.Mvc;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace ActorThrottle.WebApi;

/// <summary>
/// The sample's minimal API: <c>POST /chat</c> through ActorThrottle, <c>/health</c> from its health check, the live-limits
/// API under <c>/admin/limits/{model}</c>, OpenTelemetry traces and metrics (console exporter; OTLP as well when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set), all tuned from the <c>ActorThrottle</c> section of appsettings.json (edits
/// to its limits apply while the app runs).
/// </summary>
public static class ChatApi
{
    /// <summary>The OpenTelemetry service name.</summary>
    public const string ServiceName = "ActorThrottle.WebApi";

    /// <summary>Builds the app (not started). <paramref name="configure"/> runs first: tests set the URL and exporters there.</summary>
    public static async Task<WebApplication> CreateAsync(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        // Simulator:Enabled (the default): a rate-limited OpenAI-compatible provider on a loopback port, in this process.
        if (await InProcessSimulator.StartIfEnabledAsync(builder.Configuration) is { } simulator)
        {
            builder.Services.AddSingleton(simulator);      // disposed (stopped) with the app
        }

        // ActorThrottle: settings from appsettings.json's "ActorThrottle" section, the typed client, the health check.
        builder.Services.AddAkka("chat-api", akka => akka.WithActorThrottle(builder.Configuration.GetSection("ActorThrottle")));
        builder.Services.AddActorThrottleClient();
        builder.Services.AddActorThrottleHealthChecks();

        // OpenTelemetry: the engine's spans (a span per request, a child per attempt, the HTTP call below it) and meter.
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var console = builder.Configuration.GetValue("Telemetry:ConsoleExporter", true);
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName))
            .WithTracing(tracing =>
            {
                tracing.AddSource("ActorThrottle").AddAspNetCoreInstrumentation().AddHttpClientInstrumentation();
                if (console)
                {
                    tracing.AddConsoleExporter();
                }
                if (otlp)
                {
                    tracing.AddOtlpExporter();          // reads OTEL_EXPORTER_OTLP_ENDPOINT / _PROTOCOL
                }
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter("ActorThrottle").AddAspNetCoreInstrumentation();
                if (console)
                {
                    metrics.AddConsoleExporter();
                }
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            });

        var app = builder.Build();
        app.MapPost("/chat", ChatAsync);
        app.MapHealthChecks("/health");
        app.MapGet("/admin/limits/{model}", async (string model, ActorThrottleClient client) => Results.Ok(await client.GetStatusAsync(model)));
        app.MapPut("/admin/limits/{model}", SetLimitsAsync);
        return app;
    }

    /// <summary>One chat completion through the model's throttle; a failure becomes a problem response with the engine's reason.</summary>
    private static async Task<IResult> ChatAsync(ChatBody body, ActorThrottleClient client, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(body.Model) || string.IsNullOrWhiteSpace(body.Message))
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["model/message"] = ["Both model and message are required."] });
        }
        var request = new ChatRequest(body.Model, [ChatMessage.User(body.Message)])
        {
            MaxTokens = body.MaxTokens,
            Priority = body.Batch ? Priority.Batch : Priority.Interactive,
        };
        // The caller's cancellation (the client went away) withdraws the request from the queue.
        return await client.CompleteAsync(request, cancellationToken) switch
        {
            ChatSuccess ok => Results.Ok(new ChatAnswer(ok.RequestId, ok.ModelUsed, ok.Content, ok.FinishReason, ok.Attempts,
                ok.Latency.TotalMilliseconds, ok.Usage?.PromptTokens, ok.Usage?.CompletionTokens)),
            ChatFailure failed => Results.Problem(failed.Message, statusCode: StatusFor(failed.Reason), title: failed.Reason.ToString()),
            var other => Results.Problem($"Unexpected reply {other.GetType().Name}.", statusCode: StatusCodes.Status500InternalServerError),
        };
    }

    /// <summary>
    /// Live limits (in a real app, behind authorization): the model's status once they apply, or 400 naming the field. A
    /// model with deployments takes them per deployment: <c>?deployment=name</c> (the answer is that deployment's status).
    /// </summary>
    private static async Task<IResult> SetLimitsAsync(string model, ModelLimits limits, ActorThrottleClient client, [FromQuery] string? deployment = null)
    {
        try
        {
            return Results.Ok(deployment is null ? await client.SetLimitsAsync(model, limits) : await client.SetLimitsAsync(model, deployment, limits));
        }
        catch (ArgumentException e)
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { [e.ParamName ?? "limits"] = [e.Message] });
        }
    }

    internal static int StatusFor(FailureReason reason) => reason switch
    {
        FailureReason.InvalidRequest or FailureReason.TooLarge => StatusCodes.Status400BadRequest,
        FailureReason.UnknownModel => StatusCodes.Status404NotFound,
        FailureReason.QueueFull or FailureReason.RateLimitedExhausted => StatusCodes.Status429TooManyRequests,
        FailureReason.DeadlineExceeded => StatusCodes.Status504GatewayTimeout,
        FailureReason.Cancelled => 499,
        FailureReason.ShuttingDown => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status502BadGateway,
    };
}
