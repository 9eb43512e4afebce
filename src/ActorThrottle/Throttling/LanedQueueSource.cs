using Akka.Streams;
using Akka.Streams.Stage;

namespace ActorThrottle.Throttling;

/// <summary>
/// A source fed through its materialized <see cref="IWorkQueue{T}"/>: bounded (offers beyond capacity are
/// refused at once, never buffered), laned (lane 0 leaves before lane 1, …), and able to withdraw an item that
/// has not left yet. Items leave only on downstream demand.
/// </summary>
/// <remarks>
/// Lanes form priority groups of <c>lanesPerGroup</c> (a group's retry lane and first-attempt lane). With a
/// <c>starvationGuard</c> of n &gt; 0, after n items in a row from a higher group while a lower group waits, one
/// item of the next waiting lower group leaves: the lower group keeps at least 1/(n+1) of the releases and a
/// higher-group item is held back by at most one release.
/// </remarks>
internal sealed class LanedQueueSource<T> : GraphStageWithMaterializedValue<SourceShape<T>, IWorkQueue<T>> where T : class
{
    private readonly int _capacity;
    private readonly int _lanes;
    private readonly int _lanesPerGroup;
    private readonly int _starvationGuard;

    public LanedQueueSource(int capacity, int lanes, int lanesPerGroup = 1, int starvationGuard = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(lanes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(lanesPerGroup, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(starvationGuard);
        _capacity = capacity;
        _lanes = lanes;
        _lanesPerGroup = lanesPerGroup;
        _starvationGuard = starvationGuard;
        Shape = new SourceShape<T>(Out);
    }

    public Outlet<T> Out { get; } = new("LanedQueueSource.out");

    public override SourceShape<T> Shape { get; }

    public override ILogicAndMaterializedValue<IWorkQueue<T>> CreateLogicAndMaterializedValue(Attributes inheritedAttributes)
    {
        var queue = new Queue(_capacity, _lanes, _lanesPerGroup, _starvationGuard);
        return new LogicAndMaterializedValue<IWorkQueue<T>>(new Logic(this, queue), queue);
    }

    private sealed class Queue : IWorkQueue<T>
    {
        private readonly object _gate = new();
        private readonly LinkedList<T>[] _lanes;
        private readonly Dictionary<T, LinkedListNode<T>> _nodes = new(ReferenceEqualityComparer.Instance);
        private readonly int _lanesPerGroup;
        private readonly int _starvationGuard;
        private bool _downstreamWaiting;
        private Action<bool>? _wake;
        private int _higherInARow;

        public Queue(int capacity, int lanes, int lanesPerGroup, int starvationGuard)
        {
            Capacity = capacity;
            _lanesPerGroup = lanesPerGroup;
            _starvationGuard = starvationGuard;
            _lanes = Enumerable.Range(0, lanes).Select(_ => new LinkedList<T>()).ToArray();
        }

        public int Capacity { get; }

        public int Count
        {
            get
            {
                lock (_gate)
                {
                    return _nodes.Count;
                }
            }
        }

        public bool TryEnqueue(T item, int lane)
        {
            ArgumentNullException.ThrowIfNull(item);
            if (lane < 0 || lane >= _lanes.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(lane), lane, $"must be in [0, {_lanes.Length}).");
            }
            Action<bool>? wake = null;
            lock (_gate)
            {
                if (_nodes.Count >= Capacity || _nodes.ContainsKey(item))
                {
                    return false;
                }
                _nodes[item] = _lanes[lane].AddLast(item);
                if (_downstreamWaiting && _wake is not null)
                {
                    _downstreamWaiting = false;
                    wake = _wake;
                }
            }
            wake?.Invoke(true);
            return true;
        }

        public bool TryRemove(T item)
        {
            lock (_gate)
            {
                if (!_nodes.Remove(item, out var node))
                {
                    return false;
                }
                node.List!.Remove(node);
                return true;
            }
        }

        public IReadOnlyList<T> DrainAll()
        {
            lock (_gate)
            {
                var all = new List<T>(_nodes.Count);
                foreach (var lane in _lanes)
                {
                    all.AddRange(lane);
                    lane.Clear();
                }
                _nodes.Clear();
                return all;
            }
        }

        private int FirstNonEmpty(int from)
        {
            for (var i = from; i < _lanes.Length; i++)
            {
                if (_lanes[i].Count > 0)
                {
                    return i;
                }
            }
            return -1;
        }

        internal void Bind(Action<bool> wake)
        {
            lock (_gate)
            {
                _wake = wake;
            }
        }

        /// <summary>Takes the next item, or records that downstream waits for one.</summary>
        internal bool TryTake(out T item)
        {
            lock (_gate)
            {
                var first = FirstNonEmpty(0);
                if (first < 0)
                {
                    _downstreamWaiting = true;
                    item = null!;
                    return false;
                }
                var lower = FirstNonEmpty((first / _lanesPerGroup + 1) * _lanesPerGroup);
                var chosen = first;
                if (lower < 0)
                {
                    _higherInARow = 0;
                }
                else if (_starvationGuard > 0 && _higherInARow >= _starvationGuard)
                {
                    chosen = lower;
                    _higherInARow = 0;
                }
                else
                {
                    _higherInARow++;
                }
                var lane = _lanes[chosen];
                item = lane.First!.Value;
                lane.RemoveFirst();
                _nodes.Remove(item);
                return true;
            }
        }
    }

    private sealed class Logic : GraphStageLogic, IOutHandler
    {
        private readonly LanedQueueSource<T> _stage;
        private readonly Queue _queue;

        public Logic(LanedQueueSource<T> stage, Queue queue) : base(stage.Shape)
        {
            _stage = stage;
            _queue = queue;
            SetHandler(stage.Out, this);
        }

        public override void PreStart() => _queue.Bind(GetAsyncCallback<bool>(_ => OnPull()));

        public void OnPull()
        {
            if (IsAvailable(_stage.Out) && _queue.TryTake(out var item))
            {
                Push(_stage.Out, item);
            }
        }

        public void OnDownstreamFinish(Exception cause) => CompleteStage();
    }
}
