using System.Globalization;
using System.Runtime.CompilerServices;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Tests.Embeddings;

/// <summary>
/// <see cref="EmbeddingStreams.EmbedStreamAsync(IEmbeddingModel, IAsyncEnumerable{CorpusRecord}, EmbeddingCallOptions?, EmbeddingStreamOptions?, CancellationToken)"/>:
/// input order, equality with one batched call, the bounded window (checked with a counting source and a model whose
/// calls finish only when the test says so, never with timing), completion order, pass-through records and cancellation.
/// </summary>
public class EmbeddingStreamTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static string Text(int i) => $"record number {i} " + string.Join(' ', Enumerable.Repeat("word", i % 40));

    [Test]
    public async Task Results_come_in_input_order_and_equal_one_batched_call()
    {
        using var model = EmbeddingFixture.View(PoolingStrategies.Mean, PromptFormat.Raw);
        var texts = Enumerable.Range(0, 300).Select(Text).ToArray();
        var expected = await model.EmbedAsync(texts, EmbeddingCallOptions.Document);
        var results = new List<CorpusEmbedding>();
        await foreach (var result in model.EmbedStreamAsync(Source(300, i => new CorpusRecord($"r{i}", Text(i))), EmbeddingCallOptions.Document,
                           new EmbeddingStreamOptions { WindowSize = 32, MaxWindowsInFlight = 3 }))
            results.Add(result);
        Assert.That(results.Select(r => r.Id), Is.EqualTo(Enumerable.Range(0, 300).Select(i => $"r{i}")));
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.That(results[i].TokenCount, Is.EqualTo(expected[i].TokenCount), $"tokens of {i}");
            Assert.That(results[i].Vector, Is.EqualTo(expected[i].Vector).Within(1e-5), $"vector of {i}");
        }
    }

    [Test]
    public async Task At_most_window_size_times_windows_in_flight_records_are_read_ahead()
    {
        var model = new GatedModel();
        var source = new CountingSource(10_000);
        var options = new EmbeddingStreamOptions { WindowSize = 50, MaxWindowsInFlight = 3 };
        await using var results = model.EmbedStreamAsync(source.Read(), r => r.Text, options: options).GetAsyncEnumerator();

        var first = results.MoveNextAsync();
        Assert.That(first.IsCompleted, Is.False, "waiting for the first window");
        Assert.That(source.Pulled, Is.EqualTo(150), "three windows read ahead, no more");
        Assert.That(model.Calls.Select(c => c.Texts.Count), Is.EqualTo(new[] { 50, 50, 50 }), "three windows queued at once");

        var consumed = 0;
        var maxAhead = 0;
        for (var call = 0; consumed < 10_000; call++)
        {
            model.Release(call);
            var next = consumed == 0 ? await first : await results.MoveNextAsync().AsTask().WaitAsync(Patience);
            Assert.That(next, Is.True);
            // Everything of the released window is available without waiting.
            while (true)
            {
                Assert.That(results.Current.Record.Index, Is.EqualTo(consumed), "input order");
                Assert.That(results.Current.Embedding!.Vector[0], Is.EqualTo(consumed));
                consumed++;
                maxAhead = Math.Max(maxAhead, source.Pulled - consumed);
                Assert.That(source.Pulled - consumed, Is.LessThanOrEqualTo(options.MaxRecordsInFlight), $"after {consumed} results");
                if (consumed % 50 == 0)
                    break;
                Assert.That(await results.MoveNextAsync(), Is.True);
            }
        }
        Assert.That(await results.MoveNextAsync(), Is.False);
        Assert.That(maxAhead, Is.EqualTo(options.MaxRecordsInFlight - 1), "the bound is reached (one record of the head window handed out)");
        Assert.That(model.Calls, Has.Count.EqualTo(200));
        Assert.That(model.Calls.All(c => c.Texts.Count == 50), Is.True);
    }

    [Test]
    public async Task Completion_order_yields_a_finished_window_before_an_earlier_one()
    {
        var model = new GatedModel();
        var source = new CountingSource(20);
        await using var results = model.EmbedStreamAsync(source.Read(), r => r.Text,
            options: new EmbeddingStreamOptions { WindowSize = 10, MaxWindowsInFlight = 2, PreserveOrder = false }).GetAsyncEnumerator();
        var first = results.MoveNextAsync();
        Assert.That(model.Calls, Has.Count.EqualTo(2));
        model.Release(1);
        Assert.That(await first.AsTask().WaitAsync(Patience), Is.True);
        Assert.That(results.Current.Record.Index, Is.EqualTo(10), "window 1 finished first");
        for (var i = 11; i < 20; i++)
        {
            Assert.That(await results.MoveNextAsync(), Is.True);
            Assert.That(results.Current.Record.Index, Is.EqualTo(i));
        }
        var rest = results.MoveNextAsync();
        model.Release(0);
        Assert.That(await rest.AsTask().WaitAsync(Patience), Is.True);
        Assert.That(results.Current.Record.Index, Is.EqualTo(0));
    }

    [Test]
    public async Task A_partial_window_is_embedded_when_the_source_would_block_and_the_model_is_idle()
    {
        var model = new GatedModel();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var results = model.EmbedStreamAsync(Blocking(3, gate.Task), r => r.Text,
            options: new EmbeddingStreamOptions { WindowSize = 100 }).GetAsyncEnumerator();
        var first = results.MoveNextAsync();
        Assert.That(model.Calls.Select(c => c.Texts.Count), Is.EqualTo(new[] { 3 }), "the three records that arrived were sent");
        model.Release(0);
        Assert.That(await first.AsTask().WaitAsync(Patience), Is.True);
        Assert.That(results.Current.Record.Index, Is.EqualTo(0));
        Assert.That(await results.MoveNextAsync(), Is.True);
        Assert.That(await results.MoveNextAsync(), Is.True);
        var end = results.MoveNextAsync();
        gate.SetResult();
        Assert.That(await end.AsTask().WaitAsync(Patience), Is.False);
    }

    [Test]
    public async Task Records_without_text_pass_through_in_place_without_being_embedded()
    {
        var model = new GatedModel { ReleaseAll = true };
        var results = new List<EmbeddedRecord<Item>>();
        await foreach (var result in model.EmbedStreamAsync(new CountingSource(25).Read(), r => r.Index % 4 == 0 ? null : r.Text,
                           options: new EmbeddingStreamOptions { WindowSize = 8 }))
            results.Add(result);
        Assert.That(results.Select(r => r.Record.Index), Is.EqualTo(Enumerable.Range(0, 25)));
        Assert.That(results.Where(r => r.Embedding is null).Select(r => r.Record.Index), Is.EqualTo(new[] { 0, 4, 8, 12, 16, 20, 24 }));
        Assert.That(results.Where(r => r.Embedding is not null).All(r => (int)r.Embedding!.Vector[0] == r.Record.Index), Is.True);
        Assert.That(model.Calls.SelectMany(c => c.Texts), Has.None.Matches<string>(t => int.Parse(t[1..], CultureInfo.InvariantCulture) % 4 == 0));
    }

    [Test]
    public async Task Cancelling_stops_the_stream_and_the_queued_calls()
    {
        var model = new GatedModel();
        using var cancellation = new CancellationTokenSource();
        await using var results = model.EmbedStreamAsync(new CountingSource(1000).Read(), r => r.Text,
            options: new EmbeddingStreamOptions { WindowSize = 10, MaxWindowsInFlight = 2 }, cancellationToken: cancellation.Token).GetAsyncEnumerator();
        var first = results.MoveNextAsync();
        Assert.That(model.Calls, Has.Count.EqualTo(2));
        await cancellation.CancelAsync();
        Assert.That(async () => await first.AsTask().WaitAsync(Patience), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(model.Calls.All(c => c.Token.IsCancellationRequested), Is.True, "queued windows are cancelled");
    }

    [Test]
    public async Task Leaving_the_loop_early_cancels_the_windows_still_queued()
    {
        var model = new GatedModel();
        var results = model.EmbedStreamAsync(new CountingSource(1000).Read(), r => r.Text,
            options: new EmbeddingStreamOptions { WindowSize = 10, MaxWindowsInFlight = 3 }).GetAsyncEnumerator();
        var first = results.MoveNextAsync();
        Assert.That(model.Calls, Has.Count.EqualTo(3));
        model.Release(0);
        Assert.That(await first.AsTask().WaitAsync(Patience), Is.True);
        for (var i = 1; i < 5; i++)
            Assert.That(await results.MoveNextAsync(), Is.True);
        Assert.That(model.Calls.Any(c => c.Token.IsCancellationRequested), Is.False);
        await results.DisposeAsync();
        Assert.That(model.Calls.Skip(1).All(c => c.Token.IsCancellationRequested), Is.True);
        Assert.That(model.Calls, Has.Count.EqualTo(3), "nothing more was read");
    }

    [Test]
    public async Task Cancelling_a_real_model_stream_throws_operation_cancelled()
    {
        using var model = EmbeddingFixture.View(PoolingStrategies.LastTokenHidden, PromptFormat.Raw);
        using var cancellation = new CancellationTokenSource();
        var seen = 0;
        Assert.That(async () =>
        {
            await foreach (var _ in model.EmbedStreamAsync(Source(5000, i => new CorpusRecord($"r{i}", Text(i))),
                               options: new EmbeddingStreamOptions { WindowSize = 16 }, cancellationToken: cancellation.Token))
            {
                if (++seen == 20)
                    await cancellation.CancelAsync();
            }
        }, Throws.InstanceOf<OperationCanceledException>());
        Assert.That(seen, Is.LessThan(5000));
    }

    [Test]
    public void Bad_arguments_are_rejected_before_enumeration()
    {
        var model = new GatedModel();
        Assert.That(() => model.EmbedStreamAsync(new CountingSource(1).Read(), r => r.Text, options: new EmbeddingStreamOptions { WindowSize = 0 }),
            Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => model.EmbedStreamAsync(null!), Throws.ArgumentNullException);
        Assert.That(async () =>
        {
            await foreach (var _ in model.EmbedStreamAsync(Source(1, _ => new CorpusRecord("x", null!)))) { }
        }, Throws.ArgumentException.With.Message.Contains("'x'"));
    }

    private static async IAsyncEnumerable<T> Source<T>(int count, Func<int, T> make)
    {
        for (var i = 0; i < count; i++)
            yield return make(i);
        await Task.CompletedTask;
    }

    private static async IAsyncEnumerable<Item> Blocking(int available, Task more)
    {
        for (var i = 0; i < available; i++)
            yield return new Item(i);
        await more;
    }

    public sealed record Item(int Index)
    {
        public string Text => "t" + Index.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>A synchronous source that counts the records taken from it.</summary>
    private sealed class CountingSource(int count)
    {
        public int Pulled { get; private set; }

        public async IAsyncEnumerable<Item> Read([EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            for (var i = 0; i < count; i++)
            {
                Pulled++;
                yield return new Item(i);
            }
            await Task.CompletedTask;
        }
    }

    /// <summary>
    /// A model whose calls complete only when released (<see cref="Release"/>), each text "tN" embedded as [N];
    /// honours cancellation of queued calls.
    /// </summary>
    private sealed class GatedModel : IEmbeddingModel
    {
        private readonly Lock gate = new();
        private readonly HashSet<int> released = [];

        public List<(IReadOnlyList<string> Texts, CancellationToken Token, TaskCompletionSource<IReadOnlyList<TextEmbedding>> Completion)> Calls { get; } = [];

        public bool ReleaseAll { get; init; }

        public void Release(int call)
        {
            lock (gate)
            {
                released.Add(call);
                if (call < Calls.Count)
                    Complete(Calls[call]);
            }
        }

        private static void Complete((IReadOnlyList<string> Texts, CancellationToken Token, TaskCompletionSource<IReadOnlyList<TextEmbedding>> Completion) call) =>
            call.Completion.TrySetResult([.. call.Texts.Select(t => new TextEmbedding([int.Parse(t[1..], CultureInfo.InvariantCulture)], 1, false))]);

        public Task<IReadOnlyList<TextEmbedding>> EmbedAsync(IReadOnlyList<string> texts, EmbeddingCallOptions call,
            IProgress<EmbeddingProgress>? progress = null, CancellationToken cancellationToken = default)
        {
            var completion = new TaskCompletionSource<IReadOnlyList<TextEmbedding>>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (gate)
            {
                (IReadOnlyList<string> Texts, CancellationToken Token, TaskCompletionSource<IReadOnlyList<TextEmbedding>> Completion) entry = ([.. texts], cancellationToken, completion);
                Calls.Add(entry);
                if (ReleaseAll || released.Contains(Calls.Count - 1))
                    Complete(entry);
            }
            cancellationToken.Register(() => completion.TrySetCanceled(cancellationToken));
            return completion.Task;
        }

        public string ModelId => "gated";
        public int Dimensions => 1;
        public int MaxTokens => 512;
        public bool Normalize => false;
        public IPoolingStrategy Pooling => PoolingStrategies.LastTokenHidden;
        public PromptFormat Prompt => PromptFormat.Raw;
        public int[] Tokenize(string text, TextRole role = TextRole.Query) => throw new NotSupportedException();
        public int[] Tokenize(string text, EmbeddingCallOptions call) => throw new NotSupportedException();
        public Task<TextEmbedding> EmbedAsync(string text, TextRole role = TextRole.Query, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task<IReadOnlyList<TextEmbedding>> EmbedAsync(IReadOnlyList<string> texts, TextRole role = TextRole.Query,
            IProgress<EmbeddingProgress>? progress = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task<IReadOnlyList<TextEmbedding>> EmbedTokenIdsAsync(IReadOnlyList<IReadOnlyList<int>> ids,
            IProgress<EmbeddingProgress>? progress = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public void Dispose() { }
    }
}
