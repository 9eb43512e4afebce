using ActorThrottle.Adaptation;
using ActorThrottle.Backend;

namespace ActorThrottle.Tests.Adaptation;

/// <summary>
/// A closed loop on virtual time, 1 ms steps, no threads: an endless backlog released by a model throttle (token bucket at
/// the controller's rate and burst, releasing what accrued each tick, honouring its pauses; at most
/// <see cref="MaxInFlight"/> in flight) into a provider that is a token bucket of <c>limit</c> per second (rejections are
/// free), each answer arriving after a seeded random latency and fed to the <see cref="RateController"/>. Records the
/// decisions and per-second counts, so tests assert what the controller's decisions did to throughput and 429s.
/// </summary>
internal sealed class VirtualProviderLoop
{
    public const int MaxInFlight = 64;
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>The instant the run starts (t = 0).</summary>
    public DateTimeOffset Start => T0;

    private readonly RateController _controller;
    private readonly Func<double, double> _limitAt;
    private readonly double _providerBurst;
    private readonly (int Low, int High) _latencyMs;
    private readonly Func<double, RateLimitInfo>? _headers;
    private readonly Random _random;

    /// <param name="limitAt">The provider's limit (requests/s) at a second of the run.</param>
    /// <param name="providerBurst">The provider bucket's capacity.</param>
    /// <param name="headers">What the provider's headers say at a second of the run (null: nothing).</param>
    public VirtualProviderLoop(RateController controller, Func<double, double> limitAt, double providerBurst, (int Low, int High) latencyMs,
        Func<double, RateLimitInfo>? headers = null, int seed = 1)
    {
        _controller = controller;
        _limitAt = limitAt;
        _providerBurst = providerBurst;
        _latencyMs = latencyMs;
        _headers = headers;
        _random = new Random(seed);
    }

    public List<RateChange> Changes { get; } = [];

    /// <summary>Per whole second of the run: attempts sent, 429s, accepted.</summary>
    public List<(int Attempts, int Rejected, int Accepted)> Seconds { get; } = [];

    /// <summary>The controller's rate at the end of each whole second.</summary>
    public List<double> RateAtSecond { get; } = [];

    public void Run(int seconds)
    {
        var throttleTokens = (double)_controller.Settings.Burst;
        var providerLevel = _providerBurst;
        var pausedUntil = DateTimeOffset.MinValue;
        var inFlight = new PriorityQueue<RateOutcome, DateTimeOffset>();
        for (var ms = 0; ms < seconds * 1000; ms++)
        {
            var now = T0 + TimeSpan.FromMilliseconds(ms);
            var second = ms / 1000;
            if (Seconds.Count <= second)
            {
                Seconds.Add((0, 0, 0));
            }
            while (inFlight.TryPeek(out var answered, out var at) && at <= now)
            {
                inFlight.Dequeue();
                var decision = _controller.Observe(answered);
                Changes.AddRange(decision.Changes);
                foreach (var pause in decision.Pauses)
                {
                    pausedUntil = pause.Until > pausedUntil ? pause.Until : pausedUntil;
                    if (pause.Empty)
                    {
                        throttleTokens = 0;
                    }
                }
            }
            var settings = _controller.Settings;
            throttleTokens = Math.Min(Math.Max(settings.Burst, settings.Rate * 0.01), throttleTokens + settings.Rate / 1000);
            var limit = _limitAt(ms / 1000.0);
            providerLevel = Math.Min(_providerBurst, providerLevel + limit / 1000);
            if (now < pausedUntil)
            {
                continue;
            }
            while (throttleTokens >= 1 && inFlight.Count < MaxInFlight)
            {
                throttleTokens -= 1;
                var accepted = providerLevel >= 1;
                if (accepted)
                {
                    providerLevel -= 1;
                }
                var latency = TimeSpan.FromMilliseconds(_random.Next(_latencyMs.Low, _latencyMs.High + 1));
                var headers = _headers?.Invoke(ms / 1000.0) ?? RateLimitInfo.None;
                var outcome = accepted
                    ? RateOutcome.Success(now, now + latency, headers: headers)
                    : RateOutcome.RateLimited(now, now + latency, headers: headers);
                inFlight.Enqueue(outcome, now + latency);
                var (a, r, ok) = Seconds[second];
                Seconds[second] = (a + 1, r + (accepted ? 0 : 1), ok + (accepted ? 1 : 0));
            }
            if (ms % 1000 == 999)
            {
                RateAtSecond.Add(_controller.Settings.Rate);
            }
        }
    }

    /// <summary>Accepted per second over seconds [from, to).</summary>
    public double Goodput(int from, int to) => Seconds.Skip(from).Take(to - from).Sum(s => s.Accepted) / (double)(to - from);

    /// <summary>429s as a share of all attempts.</summary>
    public double RejectedShare => Seconds.Sum(s => s.Rejected) / (double)Math.Max(1, Seconds.Sum(s => s.Attempts));

    /// <summary>The first whole second at whose end the rate was at least <paramref name="rate"/>; null if never.</summary>
    public int? FirstSecondAtOrAbove(double rate) => RateAtSecond.FindIndex(r => r >= rate) is var i and >= 0 ? i + 1 : null;

    public string Describe() =>
        $"rates by second: {string.Join(" ", RateAtSecond.Select(r => r.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture)))}; "
        + $"accepted by second: {string.Join(" ", Seconds.Select(s => s.Accepted))}; 429 share {RejectedShare:P2}";
}
