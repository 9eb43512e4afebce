namespace ActorThrottle.Simulator.Tests;

public sealed class ProviderZooTests
{
    [Fact]
    public void The_zoo_has_fourteen_shapes_with_distinct_keys_and_valid_settings_in_both_modes()
    {
        var shapes = ProviderZoo.Shapes;

        Assert.Equal(14, shapes.Count);
        Assert.Equal(shapes.Count, shapes.Select(s => s.Key).Distinct().Count());
        foreach (var shape in shapes)
        {
            foreach (var quick in new[] { true, false })
            {
                var settings = shape.Settings(quick);
                settings.Validate();
                Assert.Equal(42, settings.Seed);
                Assert.Equal(shape.Limits(quick).Count, settings.Limits.Count);
                foreach (var step in shape.Schedule(quick))
                {
                    step.Validate($"{shape.Key}.schedule");
                }
            }
        }
    }

    [Fact]
    public void The_token_limit_of_tokens_anthropic_binds_at_the_request_rate_of_backlog_requests()
    {
        var tokens = ProviderZoo.Shapes.Single(s => s.Key == "tokens-anthropic");
        var mean = Enumerable.Range(0, ProviderZoo.FullBacklog).Average(i => PromptTokenCounter.Count(ProviderZoo.Prompt(i)) + 4.0 + ProviderZoo.BacklogMaxTokens);

        Assert.Equal(Math.Round(ProviderZoo.Rate * 60 * mean), tokens.RealTpm);
        Assert.Equal(TokenAccounting.Reconcile, tokens.Settings(quick: true).TokenAccounting);
        Assert.Equal(2 * ProviderZoo.Rate, tokens.StatedRps);
        var tokenLimit = Assert.Single(tokens.Settings(quick: true).Limits, l => l.Unit == LimitUnit.Tokens);
        Assert.Equal(tokens.RealTpm, tokenLimit.Quota);
    }

    [Theory]
    // Default backlog; not configured: 25 s of work at 100/s; ideal = backlog / 100 in 0.5 s steps, cap = ceil(1.5 ideal + 8).
    [InlineData("tb-openai", true, true, 400, 14)]
    [InlineData("tb-openai", false, true, 2500, 46)]
    [InlineData("tb-openai", true, false, 1200, 26)]
    // 20/s with its own backlog of 300: 15 s ideal.
    [InlineData("fw-clock-minute-openai", true, true, 300, 31)]
    [InlineData("fw-clock-minute-openai", false, true, 500, 46)]
    // 100/s for 2 s, 40/s to 4 s, 100/s to 5 s, an outage to 7 s, then 100/s: 500 requests are allowed by 8.5 s.
    [InlineData("schedule-529", true, true, 500, 21)]
    public void A_cells_backlog_and_cap_follow_the_matrix_rules(string key, bool configured, bool quick, int backlog, double cap)
    {
        var shape = ProviderZoo.Shapes.Single(s => s.Key == key);

        Assert.Equal(backlog, shape.BacklogFor(configured, quick));
        Assert.Equal(cap, shape.CapSeconds(backlog, quick));
    }

    [Fact]
    public void The_limit_integral_follows_the_schedule_and_allows_nothing_in_an_outage()
    {
        var shape = ProviderZoo.Shapes.Single(s => s.Key == "schedule-529");

        Assert.Equal(200, shape.LimitIntegral(2, quick: true), 6);
        Assert.Equal(280, shape.LimitIntegral(4, quick: true), 6);
        Assert.Equal(380, shape.LimitIntegral(5, quick: true), 6);
        Assert.Equal(380, shape.LimitIntegral(7, quick: true), 6);
        Assert.Equal(430, shape.LimitIntegral(7.5, quick: true), 6);
    }
}
