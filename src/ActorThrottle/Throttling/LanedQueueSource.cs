using Akka.Streams;
using Akka.Streams.Stage;

namespace ActorThrottle.Throttling;

/// <summary>
/// A source fed through its materialized <see cref="IWorkQueue{T}"/>: bounded (offers beyond capacity are
/// refused at once, never buffered), laned (lane 0 leaves before lane 1, …), and able to withdraw an item that
/// has not left yet. Items leave only on downstream demand.
/// </summary>
public sealed class LanedQueueSource<T> : GraphStageWithMaterializedValue<SourceShape<T>, IWorkQueue<T>> where T : class
{
    private readonly int _capacity;
    private readonly int _lanes;

    public LanedQueueSource(int capacity, int lanes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(lanes, 1);
        _capacity = capacity;
        _lanes = lanes;
        Shape = new SourceShape<T>(Out);
    }

    public Outlet<T> Out { get; } = new("LanedQueueSource.out");

    public override SourceShape<T> Shape { get; }

    public override ILogicAndMaterializedValue<IWorkQueue<T>> CreateLogicAndMaterializedValue(Attributes inheritedAttributes)
    {
        var queue = new Queue(_capacity, _lanes);
        return new LogicAndMaterializedValue<IWorkQueue<T>>(new Logic(this, queue), queue);
    }

    private sealed class Queue : IWorkQueue<T>
    {
        private readonly object _gate = new();
        private readonly LinkedList<T>[] _lanes;
        private readonly Dictionary<T, LinkedListNode<T>> _nodes = new(ReferenceEqualityComparer.Instance);
        private bool _downstreamWaiting;
        private Action<bool>? _wake;

        public Queue(int capacity, int lanes)
        {
            Capacity = capacity;
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
                foreach (var lane in _lanes)
                {
                    if (lane.First is { } first)
                    {
                        lane.RemoveFirst();
                        _nodes.Remove(first.Value);
                        item = first.Value;
                        return true;
                    }
                }
                _downstreamWaiting = true;
                item = null!;
                return false;
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
