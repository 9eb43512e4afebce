using Akka.Streams;
using Akka.Streams.Stage;

namespace ActorThrottle.Throttling;

/// <summary>
/// A token-bucket throttle whose rate, burst and token budget change while it runs, that can pause until an
/// instant, and that charges a token cost per element. Time comes from an injected <see cref="TimeProvider"/>;
/// the stage holds at most one element. Elements for which <c>isObsolete</c> holds when their turn comes
/// are dropped without spending anything (a cancelled request must not cost a provider slot).
/// </summary>
internal sealed class AdaptiveThrottle<T> : GraphStageWithMaterializedValue<FlowShape<T, T>, IThrottleControl>
{
    /// <summary>Akka's timers tick at 10 ms at best.</summary>
    public static readonly TimeSpan DefaultTick = TimeSpan.FromMilliseconds(10);

    private readonly double _rate;
    private readonly int _burst;
    private readonly long _tokensPerMinute;
    private readonly Func<T, long> _cost;
    private readonly Func<T, bool>? _isObsolete;
    private readonly TimeProvider _time;
    private readonly TimeSpan _tick;
    private readonly long? _tokensBurst;

    /// <param name="tokensBurst">Capacity of the token bucket, which starts full at it; null: a second of the token rate in force (<see cref="ThrottleBuckets.TokenCapacity"/>).</param>
    public AdaptiveThrottle(double rate, int burst, long tokensPerMinute, Func<T, long> cost, TimeProvider time,
        Func<T, bool>? isObsolete = null, TimeSpan? tick = null, long? tokensBurst = null)
    {
        // Validates the arguments now rather than at materialization.
        _ = new ThrottleBuckets(rate, burst, tokensPerMinute, tick ?? DefaultTick, DateTimeOffset.UnixEpoch, tokensBurst);
        _tokensBurst = tokensBurst;
        _rate = rate;
        _burst = burst;
        _tokensPerMinute = tokensPerMinute;
        _cost = cost ?? throw new ArgumentNullException(nameof(cost));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _isObsolete = isObsolete;
        _tick = tick ?? DefaultTick;
        Shape = new FlowShape<T, T>(In, Out);
    }

    public Inlet<T> In { get; } = new("AdaptiveThrottle.in");

    public Outlet<T> Out { get; } = new("AdaptiveThrottle.out");

    public override FlowShape<T, T> Shape { get; }

    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("adaptiveThrottle");

    public override ILogicAndMaterializedValue<IThrottleControl> CreateLogicAndMaterializedValue(Attributes inheritedAttributes)
    {
        var logic = new Logic(this);
        return new LogicAndMaterializedValue<IThrottleControl>(logic, logic.Control);
    }

    private sealed class Logic : TimerGraphStageLogic, IInHandler, IOutHandler
    {
        private const string ReleaseTimer = "release";
        private readonly AdaptiveThrottle<T> _stage;
        private readonly ThrottleBuckets _buckets;
        private T _pending = default!;
        private bool _hasPending;
        private DateTimeOffset? _timerDueAt;

        public Logic(AdaptiveThrottle<T> stage) : base(stage.Shape)
        {
            _stage = stage;
            _buckets = new ThrottleBuckets(stage._rate, stage._burst, stage._tokensPerMinute, stage._tick, stage._time.GetUtcNow(), stage._tokensBurst);
            Control = new ControlHandle(this, Snapshot());
            SetHandler(stage.In, this);
            SetHandler(stage.Out, this);
        }

        public ControlHandle Control { get; }

        public override void PreStart()
        {
            Control.Bind(GetAsyncCallback<Action<DateTimeOffset>>(Apply));
            Pull(_stage.In);
        }

        public void OnPush()
        {
            _pending = Grab(_stage.In);
            _hasPending = true;
            TryRelease();
        }

        public void OnUpstreamFinish()
        {
            if (!_hasPending)
            {
                CompleteStage();
            }
        }

        public void OnUpstreamFailure(Exception e) => FailStage(e);

        public void OnPull() => TryRelease();

        public void OnDownstreamFinish(Exception cause) => CompleteStage();

        protected override void OnTimer(object timerKey)
        {
            if (_timerDueAt is { } due)
            {
                _buckets.ObserveTimerLateness(_stage._time.GetUtcNow() - due);
                _timerDueAt = null;
            }
            TryRelease();
        }

        private void Apply(Action<DateTimeOffset> change)
        {
            change(_stage._time.GetUtcNow());
            CancelTimer(ReleaseTimer);
            _timerDueAt = null;
            TryRelease();
            // Published once the stage has acted on it (its release timer rescheduled): a reader of Current that then moves
            // the clock (AdaptiveThrottleSpec on Akka's TestScheduler) no longer races the new timer.
            Control.Publish(Snapshot());
        }

        private void TryRelease()
        {
            while (_hasPending && _stage._isObsolete is { } obsolete && obsolete(_pending))
            {
                _hasPending = false;
                _pending = default!;
                    PullOrFinish();
            }
            if (!_hasPending || !IsAvailable(_stage.Out))
            {
                return;
            }
            var now = _stage._time.GetUtcNow();
            var readyAt = _buckets.TryTake(now, _stage._cost(_pending));
            if (readyAt is { } at)
            {
                var delay = at - now;
                if (delay < TimeSpan.FromMilliseconds(1))
                {
                    delay = TimeSpan.FromMilliseconds(1);
                }
                ScheduleOnce(ReleaseTimer, delay);
                _timerDueAt = now + delay;
                return;
            }
            var element = _pending;
            _pending = default!;
            _hasPending = false;
            Push(_stage.Out, element);
            PullOrFinish();
        }

        private void PullOrFinish()
        {
            if (IsClosed(_stage.In))
            {
                CompleteStage();
            }
            else if (!HasBeenPulled(_stage.In))
            {
                Pull(_stage.In);
            }
        }

        private ThrottleSnapshot Snapshot() => new(_buckets.Rate, _buckets.Burst, _buckets.TokensPerMinute, _buckets.PausedUntil);

        internal void SetRate(DateTimeOffset now, double rate) => _buckets.SetRate(now, rate);
        internal void SetBurst(DateTimeOffset now, int burst) => _buckets.SetBurst(now, burst);
        internal void SetTokens(DateTimeOffset now, long tpm) => _buckets.SetTokensPerMinute(now, tpm);
        internal void Pause(DateTimeOffset until) => _buckets.PauseUntil(until);
        internal void PauseEmpty(DateTimeOffset now, DateTimeOffset until)
        {
            _buckets.Empty(now);
            _buckets.PauseUntil(until);
        }
        internal void Refund(DateTimeOffset now, long tokens) => _buckets.Refund(now, tokens);
    }

    private sealed class ControlHandle : IThrottleControl
    {
        private readonly Logic _logic;
        private readonly object _gate = new();
        private readonly List<Action<DateTimeOffset>> _early = [];
        private Action<Action<DateTimeOffset>>? _invoke;
        private ThrottleSnapshot _current;

        public ControlHandle(Logic logic, ThrottleSnapshot initial)
        {
            _logic = logic;
            _current = initial;
        }

        public ThrottleSnapshot Current => Volatile.Read(ref _current);

        public void SetRate(double requestsPerSecond)
        {
            if (!(requestsPerSecond > 0) || double.IsInfinity(requestsPerSecond))
            {
                throw new ArgumentOutOfRangeException(nameof(requestsPerSecond), requestsPerSecond, "must be a positive number of requests per second.");
            }
            Send(now => _logic.SetRate(now, requestsPerSecond));
        }

        public void SetBurst(int burst)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
            Send(now => _logic.SetBurst(now, burst));
        }

        public void SetTokensPerMinute(long tokensPerMinute)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(tokensPerMinute);
            Send(now => _logic.SetTokens(now, tokensPerMinute));
        }

        public void PauseUntil(DateTimeOffset until) => Send(_ => _logic.Pause(until));

        public void PauseEmptyUntil(DateTimeOffset until) => Send(now => _logic.PauseEmpty(now, until));

        public void Refund(long tokens) => Send(now => _logic.Refund(now, tokens));

        internal void Publish(ThrottleSnapshot snapshot) => Volatile.Write(ref _current, snapshot);

        // Calls made before the stage started are replayed once it has.
        internal void Bind(Action<Action<DateTimeOffset>> invoke)
        {
            lock (_gate)
            {
                _invoke = invoke;
                foreach (var change in _early)
                {
                    invoke(change);
                }
                _early.Clear();
            }
        }

        private void Send(Action<DateTimeOffset> change)
        {
            var invoke = Volatile.Read(ref _invoke);
            if (invoke is null)
            {
                lock (_gate)
                {
                    if (_invoke is null)
                    {
                        _early.Add(change);
                        return;
                    }
                    invoke = _invoke;
                }
            }
            invoke(change);
        }
    }
}
