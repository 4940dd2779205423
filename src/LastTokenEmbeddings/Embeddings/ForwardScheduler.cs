using LastTokenEmbeddings.Modeling;
using LastTokenEmbeddings.Pooling;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Embeddings;

/// <summary>How one request's texts are pooled and shaped; requests with equal settings can share forward passes.</summary>
/// <param name="Pooling">The pooling strategy (compared by reference).</param>
/// <param name="Dimensions">Keep only the first N dimensions, or all.</param>
/// <param name="Normalize">L2-normalise.</param>
/// <param name="MaxBatchTokens">Most padded tokens in one forward pass.</param>
/// <param name="MaxBatchSize">Most texts in one forward pass.</param>
internal sealed record BatchSettings(IPoolingStrategy Pooling, int? Dimensions, bool Normalize, int MaxBatchTokens, int MaxBatchSize);

/// <summary>
/// Runs every forward pass of one loaded decoder on a single dedicated thread (dispose scopes and
/// <c>inference_mode</c> are per thread, and libtorch already spreads one pass over all cores). Callers enqueue
/// requests and await them, so no thread blocks while another's pass runs; requests that arrive while a pass runs
/// are planned together into the next passes by the token-budget batcher. Each request still gets exactly its own
/// vectors, its own cancellation (its texts leave the queue) and its own exceptions (only the requests whose texts
/// were in a failing pass fail).
/// </summary>
internal sealed class ForwardScheduler
{
    /// <summary>Most texts planned together in one round, so a huge request does not keep later small ones waiting for long.</summary>
    internal const int RoundTextLimit = 1024;

    private readonly DecoderForCausalLM decoder;
    private readonly Lock gate = new();
    private readonly LinkedList<Request> pending = new();
    private readonly SemaphoreSlim signal = new(0);
    private Thread? worker;
    private bool stopping;
    private Action? onStopped;

    public ForwardScheduler(DecoderForCausalLM decoder)
    {
        this.decoder = decoder;
    }

    /// <summary>Requests waiting or running (for queue-depth metrics).</summary>
    public int QueuedRequests
    {
        get
        {
            lock (gate)
                return pending.Count;
        }
    }

    /// <summary>Queues token ids for embedding; the task gives one vector per input, in order.</summary>
    /// <param name="ids">Token ids per text (non-empty, in the vocabulary).</param>
    /// <param name="settings">Pooling and batching.</param>
    /// <param name="owner">The view the request belongs to, so disposing the view fails its queued requests.</param>
    /// <param name="progress">Receives progress after each pass that included this request's texts.</param>
    /// <param name="cancellationToken">Removes the request's remaining texts from the queue.</param>
    public Task<float[][]> Submit(int[][] ids, BatchSettings settings, object owner, IProgress<EmbeddingProgress>? progress, CancellationToken cancellationToken)
    {
        var request = new Request(ids, settings, owner, progress, cancellationToken);
        if (ids.Length == 0)
        {
            request.Completion.TrySetResult([]);
            return request.Completion.Task;
        }
        if (cancellationToken.CanBeCanceled)
            request.CancellationRegistration = cancellationToken.Register(WakeUp);
        lock (gate)
        {
            if (stopping)
                throw new ObjectDisposedException(nameof(EmbeddingModel));
            pending.AddLast(request);
            if (worker is null)
            {
                worker = new Thread(Run) { IsBackground = true, Name = "LastTokenEmbeddings forward passes" };
                worker.Start();
            }
        }
        signal.Release();
        return request.Completion.Task;
    }

    /// <summary>Lets the worker notice a cancellation between passes.</summary>
    private void WakeUp() => signal.Release();

    /// <summary>Fails the queued requests of <paramref name="owner"/> (a disposed view) that have not started.</summary>
    public void FailQueued(object owner)
    {
        lock (gate)
        {
            foreach (var request in pending.Where(r => ReferenceEquals(r.Owner, owner) && r.Scheduled == 0).ToList())
            {
                pending.Remove(request);
                request.Fail(new ObjectDisposedException(nameof(EmbeddingModel), "The model was disposed while this call was queued."));
            }
        }
    }

    /// <summary>
    /// Stops the worker after the pass it is running; queued requests fail with <see cref="ObjectDisposedException"/>.
    /// <paramref name="stopped"/> runs once no pass can run any more (on the worker thread, or here when none started).
    /// </summary>
    public void Stop(Action stopped)
    {
        bool started;
        lock (gate)
        {
            stopping = true;
            onStopped = stopped;
            started = worker is not null;
        }
        if (started)
            signal.Release();
        else
            stopped();
    }

    private void Run()
    {
        while (true)
        {
            signal.Wait();
            List<(Request Request, int Index)> round;
            BatchSettings settings;
            lock (gate)
            {
                if (stopping)
                    break;
                RemoveCancelled();
                if (pending.Count == 0)
                    continue;
                (round, settings) = TakeRound();
            }
            RunRound(round, settings);
            signal.Release(); // look again: more may have arrived, or the round was partial
        }

        List<Request> abandoned;
        Action? stopped;
        lock (gate)
        {
            abandoned = [.. pending];
            pending.Clear();
            stopped = onStopped;
        }
        foreach (var request in abandoned)
            request.Fail(new ObjectDisposedException(nameof(EmbeddingModel), "The model was disposed while this call was queued."));
        stopped?.Invoke();
    }

    private void RemoveCancelled()
    {
        for (var node = pending.First; node is not null;)
        {
            var next = node.Next;
            if (node.Value.CancellationToken.IsCancellationRequested || node.Value.Completion.Task.IsCompleted)
            {
                pending.Remove(node);
                node.Value.Cancel();
            }
            node = next;
        }
    }

    /// <summary>The texts of the next round: those not yet scheduled of the oldest request's settings, oldest first, up to the round limit.</summary>
    private (List<(Request, int)> Round, BatchSettings Settings) TakeRound()
    {
        var settings = pending.First!.Value.Settings;
        var round = new List<(Request, int)>();
        foreach (var request in pending)
        {
            if (request.Settings != settings)
                continue;
            while (request.Scheduled < request.Ids.Length && round.Count < RoundTextLimit)
                round.Add((request, request.Scheduled++));
            if (round.Count >= RoundTextLimit)
                break;
        }
        return (round, settings);
    }

    /// <summary>Forward passes run so far (for the harness: how many calls shared each pass).</summary>
    public long ForwardPasses => Interlocked.Read(ref forwardPasses);

    private long forwardPasses;

    private void RunRound(List<(Request Request, int Index)> round, BatchSettings settings)
    {
        var ids = round.Select(item => item.Request.Ids[item.Index]).ToArray();
        foreach (var rows in TokenBudgetBatcher.Plan(ids.Select(x => x.Length).ToArray(), settings.MaxBatchTokens, settings.MaxBatchSize))
        {
            // Texts of requests cancelled or failed meanwhile are dropped before the pass.
            var live = rows.Select(row => row.Where(i => IsLive(round[i].Request)).ToArray()).Where(row => row.Length > 0).ToArray();
            if (live.Length == 0)
                continue;
            var batch = new PackedBatch(live, ids);
            Interlocked.Increment(ref forwardPasses);
            float[][] vectors;
            try
            {
                vectors = EmbedBatch(batch, settings);
            }
#pragma warning disable CA1031 // The failure belongs to the requests in this pass; the worker must keep serving the others.
            catch (Exception e)
#pragma warning restore CA1031
            {
                foreach (var request in batch.TextIndices.Select(i => round[i].Request).Distinct())
                    request.Fail(e);
                Forget(batch.TextIndices.Select(i => round[i].Request));
                continue;
            }
            var touched = new HashSet<Request>();
            for (var b = 0; b < batch.TextIndices.Length; b++)
            {
                var (request, index) = round[batch.TextIndices[b]];
                request.Deliver(index, vectors[b]);
                touched.Add(request);
            }
            foreach (var request in touched)
                request.ReportProgress();
            Forget(touched.Where(r => r.Completion.Task.IsCompleted));
        }
    }

    /// <summary>Whether a request still wants its texts embedded; a cancelled one is completed as cancelled and forgotten.</summary>
    private bool IsLive(Request request)
    {
        if (request.Completion.Task.IsCompleted)
            return false;
        if (!request.CancellationToken.IsCancellationRequested)
            return true;
        request.Cancel();
        Forget([request]);
        return false;
    }

    private void Forget(IEnumerable<Request> finished)
    {
        lock (gate)
        {
            foreach (var request in finished.ToList())
                pending.Remove(request);
        }
    }

    /// <summary>One forward pass and pooling for a batch; runs inside one dispose scope on the worker thread.</summary>
    private float[][] EmbedBatch(PackedBatch batch, BatchSettings settings)
    {
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        var pooling = settings.Pooling;
        var (ids, segments) = batch.RowTensors();
        segments = segments.to(decoder.Model.Device);
        var rowHidden = decoder.Model.Forward(ids, segments, pooling.Layer ?? decoder.Config.NumHiddenLayers);
        var (hidden, mask) = batch.IsPacked ? batch.PerText(rowHidden) : (rowHidden, segments.ne(Scalars.Zero));
        var count = batch.TextIndices.Length;
        var pooled = pooling.Pool(new PoolingContext(hidden, mask, decoder.ComputeLogits, decoder.ComputeTokenLogits));
        var expected = pooling.OutputDimension(decoder.Config);
        if (pooled.dim() != 2 || pooled.shape[0] != count || pooled.shape[1] != expected)
            throw new InvalidOperationException(
                $"Pooling '{pooling.Name}' returned shape [{string.Join(", ", pooled.shape)}]; expected [{count}, {expected}].");
        pooled = pooled.to(ScalarType.Float32);
        if (settings.Dimensions is { } dimensions)
            pooled = pooled.narrow(1, 0, dimensions);
        if (settings.Normalize)
            pooled = nn.functional.normalize(pooled, p: 2, dim: 1);
        var flat = pooled.cpu().contiguous().data<float>().ToArray();
        var width = (int)pooled.shape[1];
        var vectors = new float[count][];
        for (var row = 0; row < count; row++)
            vectors[row] = flat.AsSpan(row * width, width).ToArray();
        return vectors;
    }

    private sealed class Request(int[][] ids, BatchSettings settings, object owner, IProgress<EmbeddingProgress>? progress, CancellationToken cancellationToken)
    {
        private readonly float[][] vectors = new float[ids.Length][];
        private int delivered;
        private long deliveredTokens;

        public int[][] Ids { get; } = ids;

        public BatchSettings Settings { get; } = settings;

        public object Owner { get; } = owner;

        public CancellationToken CancellationToken { get; } = cancellationToken;

        public CancellationTokenRegistration CancellationRegistration { get; set; }

        /// <summary>How many texts have been handed to a round (only the worker thread changes it, under the gate).</summary>
        public int Scheduled { get; set; }

        public TaskCompletionSource<float[][]> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Deliver(int index, float[] vector)
        {
            vectors[index] = vector;
            delivered++;
            deliveredTokens += Ids[index].Length;
            if (delivered == Ids.Length)
            {
                CancellationRegistration.Dispose();
                Completion.TrySetResult(vectors);
            }
        }

        public void ReportProgress()
        {
            try
            {
                progress?.Report(new EmbeddingProgress(delivered, Ids.Length, deliveredTokens));
            }
#pragma warning disable CA1031 // A throwing progress handler fails its own call, not the worker serving every caller.
            catch (Exception e)
#pragma warning restore CA1031
            {
                Fail(e);
            }
        }

        public void Cancel()
        {
            CancellationRegistration.Dispose();
            Completion.TrySetCanceled(CancellationToken);
        }

        public void Fail(Exception error)
        {
            CancellationRegistration.Dispose();
            Completion.TrySetException(error);
        }
    }
}
