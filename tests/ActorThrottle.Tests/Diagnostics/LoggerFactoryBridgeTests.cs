using ActorThrottle.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Xunit;

namespace ActorThrottle.Tests.Diagnostics;

/// <summary>The Serilog-to-ILoggerFactory bridge: categories, levels, properties and the rendered message.</summary>
public sealed class LoggerFactoryBridgeTests
{
    private static (ThrottleEnvironment Environment, FakeLogCollector Collector) WithFactory(LogLevel minimum)
    {
        var collector = new FakeLogCollector();
        var factory = LoggerFactory.Create(b => b.SetMinimumLevel(minimum).AddProvider(new FakeLoggerProvider(collector)));
        return (new ThrottleEnvironment { LoggerFactory = factory }, collector);
    }

    [Fact]
    public void Events_keep_their_template_properties_category_and_level()
    {
        var (environment, collector) = WithFactory(LogLevel.Trace);
        var log = environment.ResolveLogger().ForContext<LoggerFactoryBridgeTests>().ForContext("Model", "gpt-x");

        log.Warning("Rate of {Model}: {Rate:0.#}/s ({Reason})", "gpt-y", 12.25, ActorThrottle.Adaptation.RateChangeReason.Overload);

        var record = Assert.Single(collector.GetSnapshot());
        Assert.Equal(LogLevel.Warning, record.Level);
        Assert.Equal(typeof(LoggerFactoryBridgeTests).FullName, record.Category);
        Assert.Equal("Rate of gpt-y: 12.3/s (Overload)", record.Message);
        var state = record.StructuredState!.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("gpt-y", state["Model"]);
        Assert.Equal("12.25", state["Rate"]);
        Assert.Equal("Rate of {Model}: {Rate:0.#}/s ({Reason})", state["{OriginalFormat}"]);
    }

    [Fact]
    public void Context_properties_are_added_and_levels_below_the_minimum_are_dropped()
    {
        var (environment, collector) = WithFactory(LogLevel.Information);
        var log = environment.ResolveLogger().ForContext("TraceId", "abc");

        log.Debug("hidden {X}", 1);
        Assert.False(log.IsEnabled(Serilog.Events.LogEventLevel.Debug));
        log.Information("shown {X}", 2);
        log.Error(new InvalidOperationException("boom"), "failed {X}", 3);

        var records = collector.GetSnapshot();
        Assert.Equal(["shown 2", "failed 3"], records.Select(r => r.Message));
        Assert.All(records, r => Assert.Contains(r.StructuredState!, p => p.Key == "TraceId" && p.Value == "abc"));
        Assert.Equal("ActorThrottle", records[0].Category);
        Assert.IsType<InvalidOperationException>(records[1].Exception);
    }

    [Fact]
    public void A_serilog_logger_wins_over_the_factory_and_serilog_is_the_default()
    {
        var serilog = new Serilog.LoggerConfiguration().CreateLogger();
        var (environment, _) = WithFactory(LogLevel.Trace);
        Assert.Same(serilog, (environment with { Logger = serilog }).ResolveLogger());
        Assert.Same(Serilog.Log.Logger, new ThrottleEnvironment().ResolveLogger());
    }
}
