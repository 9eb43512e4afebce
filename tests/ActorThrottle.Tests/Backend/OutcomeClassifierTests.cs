using ActorThrottle.Backend;
using Xunit;

namespace ActorThrottle.Tests.Backend;

/// <summary>DESIGN.md "What is retried", row by row.</summary>
public sealed class OutcomeClassifierTests
{
    [Theory]
    [InlineData(200)]
    [InlineData(201)]
    [InlineData(204)]
    [InlineData(299)]
    public void A_2xx_is_a_success(int status) =>
        Assert.Equal(OutcomeKind.Success, OutcomeClassifier.Classify(status, null));

    [Theory]
    [InlineData("rate_limit_exceeded")]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("tokens")]
    [InlineData("requests")]
    [InlineData("some_future_code")]
    public void A_429_with_a_rate_limit_code_or_no_code_is_rate_limited(string? code) =>
        Assert.Equal(OutcomeKind.RateLimited, OutcomeClassifier.Classify(429, code));

    [Theory]
    [InlineData("insufficient_quota")]
    [InlineData("INSUFFICIENT_QUOTA")]
    public void A_429_with_insufficient_quota_is_not_retried(string code) =>
        Assert.Equal(OutcomeKind.QuotaExceeded, OutcomeClassifier.Classify(429, code));

    [Theory]
    [InlineData(408)]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(503)]
    [InlineData(504)]
    [InlineData(529)]
    public void Server_errors_timeouts_and_overload_are_transient(int status) =>
        Assert.Equal(OutcomeKind.Transient, OutcomeClassifier.Classify(status, null));

    [Theory]
    [InlineData(500, "server_error")]
    [InlineData(503, "insufficient_quota")]
    [InlineData(502, "rate_limit_exceeded")]
    public void A_transient_status_stays_transient_whatever_the_code(int status, string code) =>
        Assert.Equal(OutcomeKind.Transient, OutcomeClassifier.Classify(status, code));

    [Theory]
    [InlineData(400, null)]
    [InlineData(400, "context_length_exceeded")]
    [InlineData(400, "invalid_request_error")]
    [InlineData(401, "invalid_api_key")]
    [InlineData(403, null)]
    [InlineData(404, "model_not_found")]
    [InlineData(409, null)]
    [InlineData(413, null)]
    [InlineData(422, null)]
    [InlineData(501, null)]
    [InlineData(505, null)]
    public void Client_errors_and_unsupported_operations_are_permanent(int status, string? code) =>
        Assert.Equal(OutcomeKind.Permanent, OutcomeClassifier.Classify(status, code));

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    [InlineData(301)]
    [InlineData(304)]
    [InlineData(999)]
    public void Statuses_outside_the_table_are_permanent_so_they_are_never_retried_blindly(int status) =>
        Assert.Equal(OutcomeKind.Permanent, OutcomeClassifier.Classify(status, null));

    [Fact]
    public void A_call_without_an_HTTP_answer_is_transient() =>
        Assert.Equal(OutcomeKind.Transient, OutcomeClassifier.ClassifyTransportFailure());
}
