using ActorThrottle.Adaptation;
using ActorThrottle.Backend;

namespace ActorThrottle.Tests.Adaptation;

/// <summary>
/// A provider of one shape on virtual time, for <see cref="VirtualShapeLoop"/>: it decides each attempt as it arrives and
/// says when its answer is back and with which headers.
/// </summary>
internal interface IVirtualShape
{
    /// <summary>An attempt arrives at <paramref name="now"/>; <paramref name="latency"/> is the success latency drawn for it.</summary>
    (bool Accepted, TimeSpan AnswerAfter, RateLimitInfo Headers) Arrive(DateTimeOffset now, TimeSpan latency);

    /// <summary>Called every millisecond before arrivals (a concurrency cap frees the slots of answers sent by now).</summary>
    void Tick(DateTimeOffset now);
}

/// <summary>
/// The model's pipeline on virtual time, 1 ms steps, no threads, as <see cref="Models.ModelSupervisor"/> wires it: an
/// endless backlog released by the throttle (a token bucket at the controller's rate and burst, releasing what accrued each
/// tick, honouring its pauses) into the stream's <see cref="MaxInFlight"/> slots, whose calls enter the provider through the
/// in-flight gate (limit from <see cref="ConcurrencyLimitDetector"/>); each answer goes to the detector first and, unless
/// it was a concurrency cap's 429, to the <see cref="RateController"/>. Unlike <see cref="VirtualProviderLoop"/> the
/// provider is any <see cref="IVirtualShape"/> and its headers are real header text parsed by
/// <see cref="RateLimitHeaders.Parse"/>.
/// </summary>
internal sealed class VirtualShapeLoop
{
    public const int MaxInFlight = 64;
    public static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly RateController _controller;
    private readonly ConcurrencyLimitDetector _concurrency = new(MaxInFlight);
    private readonly IVirtualShape _shape;
    private readonly (int Low, int High) _latencyMs;
    private readonly Random _random;

    public VirtualShapeLoop(RateController controller, IVirtualShape shape, (int Low, int High) latencyMs, int seed = 1)
    {
        _controller = controller;
        _shape = shape;
        _latencyMs = latencyMs;
        _random = new Random(seed);
    }

    public List<RateChange> Changes { get; } = [];

    public List<RatePause> Pauses { get; } = [];

    /// <summary>Per whole second of the run: attempts sent, 429s, accepted.</summary>
    public List<(int Attempts, int Rejected, int Accepted)> Seconds { get; } = [];

    /// <summary>The controller's rate and the in-flight limit at the end of each whole second.</summary>
    public List<(double Rate, int InFlightLimit)> AtSecond { get; } = [];

    /// <summary>Headerless 429s the detector took for a concurrency cap's.</summary>
    public int ConcurrencyRejections { get; private set; }

    public void Run(int seconds)
    {
        var throttleTokens = (double)_controller.Settings.Burst;
        var pausedUntil = DateTimeOffset.MinValue;
        var waiting = 0;
        var inFlight = new PriorityQueue<(RateOutcome Outcome, int Level), DateTimeOffset>();
        for (var ms = 0; ms < seconds * 1000; ms++)
        {
            var now = T0 + TimeSpan.FromMilliseconds(ms);
            var second = ms / 1000;
            if (Seconds.Count <= second)
            {
                Seconds.Add((0, 0, 0));
            }
            _shape.Tick(now);
            while (inFlight.TryPeek(out var answered, out var at) && at <= now)
            {
                inFlight.Dequeue();
                var outcome = answered.Outcome;
                var verdict = _concurrency.OnOutcome(outcome.Kind, answered.Level, outcome.Headers.HasRateHeaders || outcome.Headers.RetryAfter is not null, outcome.SentAt, now);
                if (outcome.Kind == OutcomeKind.RateLimited && verdict.ConcurrencyLimited)
                {
                    ConcurrencyRejections++;
                    continue;
                }
                var decision = _controller.Observe(outcome);
                Changes.AddRange(decision.Changes);
                foreach (var pause in decision.Pauses)
                {
                    Pauses.Add(pause);
                    pausedUntil = pause.Until > pausedUntil ? pause.Until : pausedUntil;
                    if (pause.Empty)
                    {
                        throttleTokens = 0;
                    }
                }
            }
            var settings = _controller.Settings;
            throttleTokens = Math.Min(Math.Max(settings.Burst, settings.Rate * 0.01), throttleTokens + settings.Rate / 1000);
            if (now >= pausedUntil)
            {
                // The throttle releases into the stream's slots; past it, calls wait at the gate.
                while (throttleTokens >= 1 && waiting + inFlight.Count < MaxInFlight)
                {
                    throttleTokens -= 1;
                    waiting++;
                }
            }
            while (waiting > 0 && inFlight.Count < _concurrency.Limit)
            {
                waiting--;
                var latency = TimeSpan.FromMilliseconds(_random.Next(_latencyMs.Low, _latencyMs.High + 1));
                var (accepted, after, headers) = _shape.Arrive(now, latency);
                var outcome = accepted
                    ? RateOutcome.Success(now, now + after, headers: headers)
                    : RateOutcome.RateLimited(now, now + after, headers: headers);
                inFlight.Enqueue((outcome, inFlight.Count + 1), now + after);
                var (a, r, ok) = Seconds[second];
                Seconds[second] = (a + 1, r + (accepted ? 0 : 1), ok + (accepted ? 1 : 0));
            }
            if (ms % 1000 == 999)
            {
                AtSecond.Add((_controller.Settings.Rate, _concurrency.Limit));
            }
        }
    }

    /// <summary>Accepted per second over seconds [from, to).</summary>
    public double Goodput(int from, int to) => Seconds.Skip(from).Take(to - from).Sum(s => s.Accepted) / (double)(to - from);

    /// <summary>429s as a share of the attempts of seconds [from, to).</summary>
    public double RejectedShare(int from, int to)
    {
        var range = Seconds.Skip(from).Take(to - from).ToList();
        return range.Sum(s => s.Rejected) / (double)Math.Max(1, range.Sum(s => s.Attempts));
    }

    public string Describe() =>
        $"rate/in-flight limit by second: {string.Join(" ", AtSecond.Select(r => $"{r.Rate.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture)}/{r.InFlightLimit}"))}; "
        + $"accepted by second: {string.Join(" ", Seconds.Select(s => s.Accepted))}; 429s by second: {string.Join(" ", Seconds.Select(s => s.Rejected))}; "
        + $"cap 429s {ConcurrencyRejections}; changes: {string.Join(" | ", Changes.Take(40).Select(c => $"{(c.At - T0).TotalSeconds:0.000}s {c.Before.Rate:0.#}->{c.After.Rate:0.#} b{c.After.Burst} {c.Reason}"))}";

    /// <summary>Header text to <see cref="RateLimitInfo"/>, as the backend parses it.</summary>
    public static RateLimitInfo Parse(DateTimeOffset now, params (string Name, string Value)[] headers) =>
        RateLimitHeaders.Parse(name => headers.FirstOrDefault(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase)).Value, now);
}

/// <summary>
/// A concurrency cap (vLLM, Ollama behind a gateway): at most <c>cap</c> requests in flight, no header at all; a rejection
/// is answered at once. A slot frees up to <c>maxTransitMs</c> (seeded draw) before its answer reaches the caller (the
/// response on the wire, the caller's thread busy), so the caller's in-flight count runs a few above the server's, by a
/// varying amount: successes are seen at levels above some rejections.
/// </summary>
internal sealed class ConcurrencyCapShape(int cap, int maxTransitMs, int seed = 7) : IVirtualShape
{
    private readonly PriorityQueue<int, DateTimeOffset> _slots = new();
    private readonly Random _random = new(seed);

    public (bool Accepted, TimeSpan AnswerAfter, RateLimitInfo Headers) Arrive(DateTimeOffset now, TimeSpan latency)
    {
        if (_slots.Count >= cap)
        {
            return (false, TimeSpan.FromMilliseconds(2), RateLimitInfo.None);
        }
        var freedAt = now + latency - TimeSpan.FromMilliseconds(_random.Next(0, maxTransitMs + 1));
        _slots.Enqueue(0, freedAt > now ? freedAt : now);
        return (true, latency, RateLimitInfo.None);
    }

    public void Tick(DateTimeOffset now)
    {
        while (_slots.TryPeek(out _, out var at) && at <= now)
        {
            _slots.Dequeue();
        }
    }
}

/// <summary>
/// GCRA (throttled, redis-cell): <c>rate</c> per second with a tolerance of <c>burst</c>, rejections free, answering in the
/// IETF separate-field dialect as the simulator does: <c>RateLimit-Limit</c> (the per-second quota),
/// <c>RateLimit-Remaining</c>, <c>RateLimit-Reset</c> in whole seconds rounded up, and a whole-second <c>retry-after</c>
/// on a 429 (1 for a wait of 10 ms). Rejections are answered at once.
/// </summary>
internal sealed class GcraIetfSeparateShape(double rate, int burst) : IVirtualShape
{
    private DateTimeOffset _tat = DateTimeOffset.MinValue;

    private double Interval => 1 / rate;

    public (bool Accepted, TimeSpan AnswerAfter, RateLimitInfo Headers) Arrive(DateTimeOffset now, TimeSpan latency)
    {
        var start = _tat > now ? _tat : now;
        var excess = (start - now).TotalSeconds + Interval - burst * Interval;
        var accepted = excess <= 1e-7;
        if (accepted)
        {
            _tat = start.AddSeconds(Interval);
        }
        var used = ((_tat > now ? _tat : now) - now).TotalSeconds;
        var remaining = Math.Max(0, (long)Math.Floor((burst * Interval - used) / Interval + 1e-9));
        var headers = new List<(string, string)>
        {
            ("RateLimit-Limit", ((long)rate).ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("RateLimit-Remaining", remaining.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("RateLimit-Reset", ((long)Math.Ceiling(used - 1e-9)).ToString(System.Globalization.CultureInfo.InvariantCulture)),
        };
        if (!accepted)
        {
            headers.Add(("retry-after", ((long)Math.Ceiling(excess)).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        return (accepted, accepted ? latency : TimeSpan.FromMilliseconds(2), VirtualShapeLoop.Parse(now, [.. headers]));
    }

    public void Tick(DateTimeOffset now)
    {
    }
}

/// <summary>
/// A sliding-window counter (Kong, Cloudflare-style gateways) of <c>quota</c> per <c>window</c>, windows aligned to the
/// clock (the run starts <c>offset</c> into one): the estimate previous·(1 − f) + current must leave room for the request;
/// rejections free. Answers in the IETF structured fields as the simulator does (<c>RateLimit-Policy: "p";q=;w=</c>,
/// <c>RateLimit: "p";r=;t=</c>, whole seconds, <c>retry-after</c> rounded up on a 429); rejections answered at once.
/// </summary>
internal sealed class SlidingWindowCounterShape(int quota, TimeSpan window, TimeSpan offset) : IVirtualShape
{
    private long _index = long.MinValue;
    private double _current;
    private double _previous;

    public (bool Accepted, TimeSpan AnswerAfter, RateLimitInfo Headers) Arrive(DateTimeOffset now, TimeSpan latency)
    {
        var at = now + offset;
        Roll(at);
        var accepted = Estimate(at) + 1 <= quota + 1e-9;
        if (accepted)
        {
            _current++;
        }
        var remaining = Math.Max(0, (long)Math.Floor(quota - Estimate(at) + 1e-9));
        var windowEnd = StartOf(_index + 1);
        var reset = _current > 0 ? windowEnd + window - at : _previous > 0 ? windowEnd - at : TimeSpan.Zero;
        var ci = System.Globalization.CultureInfo.InvariantCulture;
        var headers = new List<(string, string)>
        {
            ("RateLimit-Policy", $"\"p\";q={quota.ToString(ci)};w={((long)Math.Ceiling(window.TotalSeconds)).ToString(ci)}"),
            ("RateLimit", $"\"p\";r={remaining.ToString(ci)};t={((long)Math.Ceiling(reset.TotalSeconds - 1e-9)).ToString(ci)}"),
        };
        if (!accepted)
        {
            var room = quota - 1.0;
            var f = _current <= room ? (_previous > 0 ? 1 - (room - _current) / _previous : 0) : 1 + (1 - room / _current);
            var wait = StartOf(_index) + window * Math.Clamp(f, 0, 2) - at;
            headers.Add(("retry-after", Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds - 1e-9)).ToString(ci)));
        }
        return (accepted, accepted ? latency : TimeSpan.FromMilliseconds(2), VirtualShapeLoop.Parse(now, [.. headers]));
    }

    public void Tick(DateTimeOffset now)
    {
    }

    private double Estimate(DateTimeOffset at) => _previous * (1 - (at - StartOf(_index)).Ticks / (double)window.Ticks) + _current;

    private DateTimeOffset StartOf(long index) => new(index * window.Ticks, TimeSpan.Zero);

    private void Roll(DateTimeOffset at)
    {
        var index = at.UtcTicks / window.Ticks;
        if (index != _index)
        {
            (_previous, _current) = index == _index + 1 ? (_current, 0) : (0, 0);
            _index = index;
        }
    }
}

/// <summary>
/// A token bucket of <c>rate</c> per second holding <c>burst</c> (nginx <c>limit_req burst=10 nodelay</c>), no headers at
/// all, rejections free and answered at once: its 429s look like a concurrency cap's (no rate header, no retry-after).
/// </summary>
internal sealed class HeaderlessTokenBucketShape(double rate, double burst) : IVirtualShape
{
    private double _level = burst;
    private DateTimeOffset _last = DateTimeOffset.MinValue;

    public (bool Accepted, TimeSpan AnswerAfter, RateLimitInfo Headers) Arrive(DateTimeOffset now, TimeSpan latency)
    {
        var accepted = _level >= 1 - 1e-9;
        if (accepted)
        {
            _level -= 1;
        }
        return (accepted, accepted ? latency : TimeSpan.FromMilliseconds(2), RateLimitInfo.None);
    }

    public void Tick(DateTimeOffset now)
    {
        if (_last != DateTimeOffset.MinValue)
        {
            _level = Math.Min(burst, _level + (now - _last).TotalSeconds * rate);
        }
        _last = now;
    }
}
