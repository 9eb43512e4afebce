using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using System.Threading.Channels;
using ActorThrottle.Configuration;
using ActorThrottle.Diagnostics;
using ActorThrottle.Messages;

namespace ActorThrottle.Batch;

/// <summary>The output file is in use by another run.</summary>
public sealed class BatchInUseException(string message) : Exception(message);

/// <summary>How a run ended.</summary>
/// <param name="Interrupted">The run was cancelled before the end of the input; re-run to resume.</param>
/// <param name="Duration">Wall time of the run.</param>
/// <param name="Resumed">What the output already held when the run started.</param>
/// <param name="MaxOutstanding">The bound on requests in the engine that was applied.</param>
public sealed record BatchResult(bool Interrupted, BatchCounters Counters, TimeSpan Duration, OutputLedger Resumed, int MaxOutstanding)
{
    public int ExitCode => Interrupted ? 130 : Counters.Failed + Counters.Invalid > 0 ? 1 : 0;
}

/// <summary>
/// Streams an input file through the engine: reads a line only when a slot is free (at most
/// <see cref="MaxOutstanding"/> requests in the engine at once), appends each result as it completes, skips what
/// the output already answers. Cancelling withdraws the requests in flight; those are not written, so the next run
/// sends them again.
/// </summary>
public sealed class BatchRunner
{
    private static readonly TimeSpan QueueFullBackoff = TimeSpan.FromMilliseconds(100);

    private readonly ActorThrottleEngine _engine;
    private readonly BatchOptions _options;

    public BatchRunner(ActorThrottleEngine engine, BatchOptions options, BatchCounters? counters = null)
    {
        _engine = engine ?? throw new ArgumentNullException(nameof(engine));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        Counters = counters ?? new BatchCounters();
        MaxOutstanding = OutstandingBound(engine.Settings, options.MaxOutstanding);
    }

    public BatchCounters Counters { get; }

    /// <summary><see cref="BatchOptions.MaxOutstanding"/>, capped by the smallest queue-size so the engine never answers QueueFull.</summary>
    public int MaxOutstanding { get; }

    internal static int OutstandingBound(ActorThrottleSettings settings, int wanted)
    {
        var smallestQueue = settings.ConfiguredModels.Values.Select(m => m.QueueSize).Append(settings.Defaults.QueueSize).Min();
        return Math.Max(1, Math.Min(wanted, smallestQueue));
    }

    public async Task<BatchResult> RunAsync(CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        using var exclusive = LockOutput(_options.OutputPath);
        var ledger = OutputLedger.Load(_options.OutputPath);
        using var rateLimited = ListenFor429s(_engine.Metrics, Counters);
        _ = Task.Run(() => Counters.Total = CountLines(_options.InputPath), CancellationToken.None);

        var slots = new SemaphoreSlim(MaxOutstanding, MaxOutstanding);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var interrupted = false;
        await using (var writer = new ResultWriter(_options.OutputPath, Counters.Written))
        {
            using var input = new StreamReader(
                new FileStream(_options.InputPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16),
                Encoding.UTF8, detectEncodingFromByteOrderMarks: true, 1 << 16);
            long lineNo = 0;
            try
            {
                while (await input.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } text)
                {
                    lineNo++;
                    if (writer.Failure is { } failure)
                    {
                        throw new IOException($"Writing {_options.OutputPath} failed: {failure.Message}", failure);
                    }
                    if (string.IsNullOrWhiteSpace(text))
                    {
                        continue;
                    }
                    Counters.LineRead();
                    var item = Classify(text, lineNo, ledger, seen);
                    if (item is null)
                    {
                        continue;
                    }
                    if (item is InvalidLine bad)
                    {
                        await writer.WriteAsync(new InvalidRecord(bad)).ConfigureAwait(false);
                        continue;
                    }
                    var request = (BatchItem)item;
                    await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
                    Counters.Submitted(request.Request.Model);
                    _ = ProcessAsync(request, writer, slots, cancellationToken);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                interrupted = true;
            }

            // Wait for every request handed to the engine: all slots free again.
            for (var i = 0; i < MaxOutstanding; i++)
            {
                await slots.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        interrupted |= Counters.Interrupted > 0;
        return new BatchResult(interrupted, Counters, clock.Elapsed, ledger, MaxOutstanding);
    }

    /// <summary>Null: skip the line (already answered); an <see cref="InvalidLine"/> to report; or a <see cref="BatchItem"/> to send.</summary>
    private object? Classify(string text, long lineNo, OutputLedger ledger, HashSet<string> seen)
    {
        var parsed = InputParser.Parse(text, lineNo);
        if (parsed is BatchItem item)
        {
            // Reuse the ledger's string for the id when there is one: one copy per id in memory.
            var id = ledger.Succeeded.TryGetValue(item.CustomId, out var known) ? known
                : ledger.Failed.TryGetValue(item.CustomId, out known) ? known : item.CustomId;
            if (!seen.Add(id))
            {
                parsed = new InvalidLine(lineNo, item.CustomId, "DuplicateCustomId",
                    $"Line {lineNo} ({item.CustomId}): custom_id already used on an earlier line; this line is not sent.");
            }
            else if (ledger.Succeeded.Contains(id))
            {
                Counters.SkipSucceeded();
                return null;
            }
            else if (ledger.Failed.Contains(id) && !_options.RetryFailed)
            {
                Counters.SkipFailed();
                return null;
            }
            else if (_engine.Settings.ForModel(item.Request.Model) is null)
            {
                parsed = new InvalidLine(lineNo, item.CustomId, "UnknownModel",
                    $"Line {lineNo} ({item.CustomId}): model '{item.Request.Model}' is not configured and unknown-models = reject.");
            }
            else
            {
                return item;
            }
        }
        var invalid = (InvalidLine)parsed;
        if (ledger.InvalidLines.Contains(lineNo) && !_options.RetryFailed)
        {
            Counters.SkipInvalid();
            return null;
        }
        return invalid;
    }

    private async Task ProcessAsync(BatchItem item, ResultWriter writer, SemaphoreSlim slots, CancellationToken cancellationToken)
    {
        var model = item.Request.Model;
        var started = Stopwatch.GetTimestamp();
        try
        {
            ChatReply reply;
            while (true)
            {
                try
                {
                    reply = await _engine.CompleteAsync(item.Request, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    reply = new ChatFailure(item.CustomId, FailureReason.Transient, $"The engine did not answer: {e.GetType().Name}: {e.Message}", 0);
                }
                if (reply is ChatFailure { Reason: FailureReason.QueueFull } && !cancellationToken.IsCancellationRequested)
                {
                    // Another client shares the engine, or a queue-size is smaller than it says: wait and offer again.
                    Counters.QueueFullResubmit();
                    try
                    {
                        await Task.Delay(QueueFullBackoff, cancellationToken).ConfigureAwait(false);
                        continue;
                    }
                    catch (OperationCanceledException)
                    {
                    }
                }
                break;
            }
            if (cancellationToken.IsCancellationRequested
                && reply is ChatFailure { Reason: FailureReason.Cancelled or FailureReason.ShuttingDown or FailureReason.QueueFull })
            {
                Counters.InterruptedOne();
                return;
            }
            await writer.WriteAsync(new ReplyRecord(item.Line, item.CustomId, model, reply, Stopwatch.GetElapsedTime(started))).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            // The writer failed; the run stops with its error and the next run sends this request again.
        }
        finally
        {
            Counters.Answered(model);
            slots.Release();
        }
    }

    /// <summary>
    /// Holds <c>OUTPUT.lock</c> exclusively for the run, so two runs never append to one output (the OS releases
    /// the lock when a process dies, even on <c>kill -9</c>).
    /// </summary>
    private static FileStream LockOutput(string outputPath)
    {
        var full = Path.GetFullPath(outputPath);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        try
        {
            return new FileStream(full + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (IOException e)
        {
            throw new BatchInUseException($"Another run is writing {full} (its .lock file is held): {e.Message}");
        }
    }

    private static MeterListener ListenFor429s(ActorThrottleMetrics metrics, BatchCounters counters)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter, metrics.Meter) && instrument.Name == "actor_throttle.rate_limited")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => counters.RateLimitedSeen(value));
        listener.Start();
        return listener;
    }

    /// <summary>Non-blank lines of <paramref name="path"/>, counted by bytes (fast; runs beside the real pass).</summary>
    internal static long CountLines(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var buffer = new byte[1 << 16];
        long lines = 0;
        var content = false;
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            for (var i = 0; i < read; i++)
            {
                var b = buffer[i];
                if (b == (byte)'\n')
                {
                    if (content)
                    {
                        lines++;
                    }
                    content = false;
                }
                else if (b is not ((byte)' ' or (byte)'\r' or (byte)'\t'))
                {
                    content = true;
                }
            }
        }
        return content ? lines + 1 : lines;
    }
}
