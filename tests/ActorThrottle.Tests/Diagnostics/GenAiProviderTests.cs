using ActorThrottle.Backend;
using ActorThrottle.Diagnostics;
using ActorThrottle.Messages;
using Xunit;

namespace ActorThrottle.Tests.Diagnostics;

public sealed class GenAiProviderTests
{
    [Theory]
    [InlineData("https://api.openai.com/v1", "openai")]
    [InlineData("https://api.cometapi.com/v1", "openai")]
    [InlineData("http://127.0.0.1:8000/v1", "openai")]
    [InlineData("https://my-resource.openai.azure.com/openai/v1", "azure.ai.openai")]
    [InlineData("https://my-resource.services.ai.azure.com/models", "azure.ai.openai")]
    [InlineData("https://API.ANTHROPIC.COM/v1", "anthropic")]
    public void Provider_name_follows_the_endpoint_host(string endpoint, string expected) =>
        Assert.Equal(expected, GenAiProvider.Of(new Uri(endpoint)));

    [Theory]
    [InlineData(429, null, "429")]
    [InlineData(503, "server_error", "503")]
    [InlineData(null, "timeout", "timeout")]
    [InlineData(null, null, "_OTHER")]
    public void Error_type_is_the_status_then_the_transport_code(int? status, string? code, string expected) =>
        Assert.Equal(expected, ThrottleTracing.ErrorType(new BackendResponse(OutcomeKind.Transient) { StatusCode = status, ErrorCode = code }));

    [Fact]
    public void Every_failure_reason_has_a_snake_case_outcome_tag()
    {
        foreach (var reason in Enum.GetValues<FailureReason>())
        {
            Assert.Matches("^[a-z]+(_[a-z]+)*$", ThrottleTracing.OutcomeTag(reason));
        }
        Assert.Equal("rate_limited_exhausted", ThrottleTracing.OutcomeTag(FailureReason.RateLimitedExhausted));
    }
}
