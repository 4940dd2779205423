using System.Runtime.CompilerServices;

namespace LastTokenEmbeddings.Embeddings;

/// <summary>
/// Embeds streams of records of any length with bounded memory: records are read into windows (one embedding call
/// each), several windows are queued at once so the model's token-budget batcher plans forward passes over many texts
/// (and the next window is tokenised while one runs), and results come back in input order.
/// </summary>
public static class EmbeddingStreams
{
    /// <summary>
    /// Embeds a stream of <see cref="CorpusRecord"/>s, yielding each record's embedding in input order (or as windows
    /// complete, see <see cref="EmbeddingStreamOptions.PreserveOrder"/>). At most
    /// <see cref="EmbeddingStreamOptions.MaxRecordsInFlight"/> records are read and not yet yielded at any time.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="records">The records; read once, as the results are consumed.</param>
    /// <param name="call">Role, instruction, prompt and truncation of every text; query role and model defaults when <see langword="null"/>.</param>
    /// <param name="options">Window size, windows in flight and ordering; <see cref="EmbeddingStreamOptions.Default"/> when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops reading and removes the queued windows; the enumeration then throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>One embedding per record.</returns>
    /// <exception cref="ArgumentException">(During enumeration) a record or its text is <see langword="null"/>.</exception>
    public static IAsyncEnumerable<CorpusEmbedding> EmbedStreamAsync(this IEmbeddingModel model, IAsyncEnumerable<CorpusRecord> records,
        EmbeddingCallOptions? call = null, EmbeddingStreamOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(records);
        options ??= EmbeddingStreamOptions.Default;
        options.Validate();
        return ToCorpusEmbeddings(EmbedCore(model, records, TextOf, call ?? EmbeddingCallOptions.Query, options, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Embeds a stream of records of the caller's type, yielding each record with its embedding in input order (or as
    /// windows complete, see <see cref="EmbeddingStreamOptions.PreserveOrder"/>). Records for which
    /// <paramref name="textSelector"/> returns <see langword="null"/> are not embedded but passed through in their place
    /// with a <see langword="null"/> <see cref="EmbeddedRecord{TRecord}.Embedding"/> (so a caller can account for
    /// every record, e.g. report bad ones, in order). At most <see cref="EmbeddingStreamOptions.MaxRecordsInFlight"/>
    /// records are read and not yet yielded at any time.
    /// </summary>
    /// <typeparam name="TRecord">The record type.</typeparam>
    /// <param name="model">The model.</param>
    /// <param name="records">The records; read once, as the results are consumed.</param>
    /// <param name="textSelector">The text of a record, or <see langword="null"/> to pass it through unembedded.</param>
    /// <param name="call">Role, instruction, prompt and truncation of every text; query role and model defaults when <see langword="null"/>.</param>
    /// <param name="options">Window size, windows in flight and ordering; <see cref="EmbeddingStreamOptions.Default"/> when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops reading and removes the queued windows; the enumeration then throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>Every record, with its embedding.</returns>
    public static IAsyncEnumerable<EmbeddedRecord<TRecord>> EmbedStreamAsync<TRecord>(this IEmbeddingModel model, IAsyncEnumerable<TRecord> records,
        Func<TRecord, string?> textSelector, EmbeddingCallOptions? call = null, EmbeddingStreamOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(textSelector);
        options ??= EmbeddingStreamOptions.Default;
        options.Validate();
        return EmbedCore(model, records, textSelector, call ?? EmbeddingCallOptions.Query, options, cancellationToken);
    }

    private static string TextOf(CorpusRecord record) =>
        record is null ? throw new ArgumentException("The stream holds a null record.", nameof(record))
        : record.Text ?? throw new ArgumentException($"Record '{record.Id}' has a null text.", nameof(record));

    private static async IAsyncEnumerable<CorpusEmbedding> ToCorpusEmbeddings(IAsyncEnumerable<EmbeddedRecord<CorpusRecord>> results,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var result in results.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            var embedding = result.Embedding!;
            yield return new CorpusEmbedding(result.Record.Id, embedding.Vector, embedding.TokenCount, embedding.Truncated);
        }
    }

    private static async IAsyncEnumerable<EmbeddedRecord<TRecord>> EmbedCore<TRecord>(IEmbeddingModel model, IAsyncEnumerable<TRecord> records,
        Func<TRecord, string?> textSelector, EmbeddingCallOptions call, EmbeddingStreamOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Cancelled when the enumeration ends for any reason, so neither queued windows nor a blocked source outlive it.
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var inFlight = new List<Window<TRecord>>(options.MaxWindowsInFlight);
        var current = new Window<TRecord>(options.WindowSize);
        var source = records.GetAsyncEnumerator(abandon.Token);
        Task<bool>? blocked = null; // the source's pending MoveNextAsync while it has no record ready
        try
        {
            while (true)
            {
                var next = source.MoveNextAsync();
                bool hasNext;
                if (next.IsCompleted)
                {
                    hasNext = await next.ConfigureAwait(false);
                }
                else
                {
                    // The source would block. Embed what has arrived if the model is idle, and hand out windows that
                    // finish meanwhile, so a slow or live source never holds back results already computed.
                    if (current.Count > 0 && inFlight.Count == 0)
                    {
                        inFlight.Add(current.Submit(model, call, abandon.Token));
                        current = new Window<TRecord>(options.WindowSize);
                    }
                    blocked = next.AsTask();
                    while (!blocked.IsCompleted && inFlight.Count > 0)
                    {
                        var ready = Ready(inFlight, options.PreserveOrder);
                        if (ready is null)
                        {
                            await Task.WhenAny(blocked, Waitable(inFlight, options.PreserveOrder)).ConfigureAwait(false);
                            continue;
                        }
                        var vectors = await ready.VectorsAsync().ConfigureAwait(false);
                        foreach (var result in ready.Results(vectors))
                            yield return result;
                        inFlight.Remove(ready);
                    }
                    hasNext = await blocked.ConfigureAwait(false);
                    blocked = null;
                }
                if (!hasNext)
                    break;
                cancellationToken.ThrowIfCancellationRequested();
                var record = source.Current;
                current.Add(record, textSelector(record));
                if (current.Count < options.WindowSize)
                    continue;
                inFlight.Add(current.Submit(model, call, abandon.Token));
                current = new Window<TRecord>(options.WindowSize);

                // Hand out what is finished; at the in-flight limit, wait for a window before reading more.
                while (inFlight.Count > 0)
                {
                    var ready = Ready(inFlight, options.PreserveOrder);
                    if (ready is null && inFlight.Count < options.MaxWindowsInFlight)
                        break;
                    ready ??= await NextToFinish(inFlight, options.PreserveOrder).ConfigureAwait(false);
                    var vectors = await ready.VectorsAsync().ConfigureAwait(false);
                    foreach (var result in ready.Results(vectors))
                        yield return result;
                    inFlight.Remove(ready);
                }
            }

            if (current.Count > 0)
                inFlight.Add(current.Submit(model, call, abandon.Token));
            while (inFlight.Count > 0)
            {
                var ready = await NextToFinish(inFlight, options.PreserveOrder).ConfigureAwait(false);
                var vectors = await ready.VectorsAsync().ConfigureAwait(false);
                foreach (var result in ready.Results(vectors))
                    yield return result;
                inFlight.Remove(ready);
            }
        }
        finally
        {
            await abandon.CancelAsync().ConfigureAwait(false);
            foreach (var window in inFlight)
                await window.Settle().ConfigureAwait(false);
            if (blocked is not null)
                await Settle(blocked).ConfigureAwait(false); // an enumerator must not be disposed while MoveNextAsync runs
            await source.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>A finished window that may be handed out now: the oldest (input order) or any.</summary>
    private static Window<TRecord>? Ready<TRecord>(List<Window<TRecord>> inFlight, bool preserveOrder) =>
        preserveOrder ? (inFlight[0].IsCompleted ? inFlight[0] : null) : inFlight.Find(w => w.IsCompleted);

    /// <summary>Completes when <see cref="Ready"/> may find a window.</summary>
    private static Task Waitable<TRecord>(List<Window<TRecord>> inFlight, bool preserveOrder) =>
        preserveOrder ? inFlight[0].Completion : Task.WhenAny(inFlight.Select(w => w.Completion));

    /// <summary>The oldest window (input order), or the first to finish.</summary>
    private static async Task<Window<TRecord>> NextToFinish<TRecord>(List<Window<TRecord>> inFlight, bool preserveOrder)
    {
        if (preserveOrder)
            return inFlight[0];
        await Waitable(inFlight, preserveOrder: false).ConfigureAwait(false);
        return inFlight.Find(w => w.IsCompleted)!;
    }

    private static async Task Settle(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The enumeration is already ending (with its own exception, if any); this only waits for the task.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>Records read together and embedded in one call.</summary>
    private sealed class Window<TRecord>(int capacity)
    {
        private readonly List<TRecord> records = new(capacity);
        private readonly List<int> textIndex = new(capacity); // per record: index into texts, or -1 when passed through
        private readonly List<string> texts = new(capacity);
        private Task<IReadOnlyList<TextEmbedding>>? embeddings;

        public int Count => records.Count;

        public Task Completion => embeddings!;

        public bool IsCompleted => embeddings!.IsCompleted;

        public void Add(TRecord record, string? text)
        {
            records.Add(record);
            textIndex.Add(text is null ? -1 : texts.Count);
            if (text is not null)
                texts.Add(text);
        }

        public Window<TRecord> Submit(IEmbeddingModel model, EmbeddingCallOptions call, CancellationToken cancellationToken)
        {
            embeddings = texts.Count == 0 ? Task.FromResult<IReadOnlyList<TextEmbedding>>([]) : Start(model, texts, call, cancellationToken);
            return this;
        }

        private static Task<IReadOnlyList<TextEmbedding>> Start(IEmbeddingModel model, List<string> texts, EmbeddingCallOptions call, CancellationToken cancellationToken)
        {
            try
            {
                return model.EmbedAsync(texts, call, progress: null, cancellationToken);
            }
#pragma warning disable CA1031 // An implementation that throws before returning its task fails this window, observed in order like any other failure.
            catch (Exception e)
#pragma warning restore CA1031
            {
                return Task.FromException<IReadOnlyList<TextEmbedding>>(e);
            }
        }

        public async Task<IReadOnlyList<TextEmbedding>> VectorsAsync()
        {
            var vectors = await embeddings!.ConfigureAwait(false);
            return vectors.Count == texts.Count ? vectors
                : throw new InvalidOperationException($"The model returned {vectors.Count} embeddings for {texts.Count} texts.");
        }

        public IEnumerable<EmbeddedRecord<TRecord>> Results(IReadOnlyList<TextEmbedding> vectors)
        {
            for (var i = 0; i < records.Count; i++)
                yield return new EmbeddedRecord<TRecord>(records[i], textIndex[i] < 0 ? null : vectors[textIndex[i]]);
        }

        /// <summary>Waits for an abandoned window's call to end, ignoring its outcome (it was cancelled or is no longer wanted).</summary>
        public Task Settle() => embeddings is null ? Task.CompletedTask : EmbeddingStreams.Settle(embeddings);
    }
}
