using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Tokenization;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Tests.Embeddings;

/// <summary>
/// Calls that arrive while a forward pass runs wait in a queue (no blocked thread) and share the next passes, each
/// keeping its own results, cancellation and exceptions. A pooling that blocks until released holds the one forward
/// thread in a known state, so every ordering below is deterministic.
/// </summary>
[NonParallelizable]
public class QueuedCallsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static string[] Texts() => Enumerable.Range(0, ReferenceData.TextCount).Select(ReferenceData.Text).ToArray();

    [Test]
    public async Task Calls_queued_behind_a_pass_share_one_pass_and_get_their_own_vectors()
    {
        using var gate = new GatedPooling();
        using var blocker = EmbeddingFixture.View(gate, PromptFormat.Raw);
        using var counted = new CountingPooling();
        using var model = EmbeddingFixture.View(counted, PromptFormat.Raw);
        var texts = Texts().Take(8).ToArray();
        var expected = texts.Select(t => model.Embed([t])[0].Vector).ToArray();
        counted.Reset();

        var blocking = blocker.EmbedAsync("hold the forward thread");
        gate.WaitUntilEntered();
        var queued = texts.Select(t => model.EmbedAsync(t)).ToArray();
        Assert.That(model.QueuedRequests, Is.EqualTo(texts.Length + 1), "all queued behind the running pass");
        gate.Release();
        var results = await Task.WhenAll(queued).WaitAsync(Patience);
        await blocking.WaitAsync(Patience);

        Assert.That(counted.Calls, Is.EqualTo(1), "the eight calls shared one forward pass");
        Assert.That(counted.Rows, Is.EqualTo(texts.Length));
        for (var i = 0; i < texts.Length; i++)
            Assert.That(results[i].Vector, Is.EqualTo(expected[i]).Within(1e-4), $"call {i}");
    }

    [Test]
    public async Task Cancelling_one_queued_call_leaves_the_others_untouched()
    {
        using var gate = new GatedPooling();
        using var blocker = EmbeddingFixture.View(gate, PromptFormat.Raw);
        using var model = EmbeddingFixture.View(PoolingStrategies.Mean, PromptFormat.Raw);
        var texts = Texts().Take(4).ToArray();
        var expected = texts.Select(t => model.Embed([t])[0].Vector).ToArray();
        using var cancellation = new CancellationTokenSource();

        var blocking = blocker.EmbedAsync("hold the forward thread");
        gate.WaitUntilEntered();
        var calls = texts.Select((t, i) => model.EmbedAsync([t], cancellationToken: i == 1 ? cancellation.Token : default)).ToArray();
        await cancellation.CancelAsync();
        gate.Release();

        Assert.That(async () => await calls[1].WaitAsync(Patience), Throws.InstanceOf<OperationCanceledException>());
        foreach (var i in new[] { 0, 2, 3 })
            Assert.That((await calls[i].WaitAsync(Patience))[0].Vector, Is.EqualTo(expected[i]).Within(1e-4), $"call {i}");
        await blocking.WaitAsync(Patience);
    }

    [Test]
    public async Task Disposing_a_view_fails_its_queued_calls_and_spares_the_running_pass()
    {
        using var gate = new GatedPooling();
        using var blocker = EmbeddingFixture.View(gate, PromptFormat.Raw, normalize: false);
        var doomed = EmbeddingFixture.View(PoolingStrategies.Mean, PromptFormat.Raw);

        var blocking = blocker.EmbedAsync(ReferenceData.Text(0));
        gate.WaitUntilEntered();
        var queued = doomed.EmbedAsync(["a", "b"]);
        doomed.Dispose();
        Assert.That(async () => await queued.WaitAsync(Patience), Throws.InstanceOf<ObjectDisposedException>());
        gate.Release();

        using var expected = ReferenceData.Tensor("float32/raw/0/last_hidden_state");
        using var last = expected[-1];
        Assert.That((await blocking.WaitAsync(Patience)).Vector, Is.EqualTo(last.data<float>().ToArray()).Within(1e-4));
    }

    [Test]
    public async Task A_failing_pass_fails_only_the_calls_in_it()
    {
        using var gate = new GatedPooling();
        using var blocker = EmbeddingFixture.View(gate, PromptFormat.Raw);
        using var broken = EmbeddingFixture.View(new FailingPooling(), PromptFormat.Raw);
        using var model = EmbeddingFixture.View(PoolingStrategies.LastTokenHidden, PromptFormat.Raw);
        var expected = model.Embed(["fine"])[0].Vector;

        var blocking = blocker.EmbedAsync("hold the forward thread");
        gate.WaitUntilEntered();
        var failing = broken.EmbedAsync("boom");
        var healthy = model.EmbedAsync("fine");
        gate.Release();

        Assert.That(async () => await failing.WaitAsync(Patience), Throws.InvalidOperationException.With.Message.EqualTo(FailingPooling.Message));
        Assert.That((await healthy.WaitAsync(Patience)).Vector, Is.EqualTo(expected).Within(1e-5));
        await blocking.WaitAsync(Patience);
        Assert.That((await model.EmbedAsync("fine")).Vector, Is.EqualTo(expected).Within(1e-5), "the forward thread keeps serving");
    }

    [Test]
    public async Task Disposing_the_last_view_with_queued_calls_fails_them_cleanly()
    {
        using var fresh = EmbeddingModel.Load(TestPaths.FixtureDirectory, new EmbeddingOptions(), new ModelLoadOptions { DType = ComputeDType.Float32 });
        using var gate = new GatedPooling();
        var blocker = fresh.WithOptions(new EmbeddingOptions { Pooling = gate });
        var other = fresh.WithOptions(new EmbeddingOptions { Pooling = PoolingStrategies.Mean });

        var blocking = blocker.EmbedAsync("hold the forward thread");
        gate.WaitUntilEntered();
        var queued = other.EmbedAsync("queued");
        fresh.Dispose();
        blocker.Dispose();
        other.Dispose();
        Assert.That(async () => await queued.WaitAsync(Patience), Throws.InstanceOf<ObjectDisposedException>());
        gate.Release();
        Assert.That((await blocking.WaitAsync(Patience)).Vector, Has.Length.EqualTo(64), "the running call finishes on the released weights");
        Assert.That(() => other.Embed(["x"]), Throws.InstanceOf<ObjectDisposedException>());
    }

    /// <summary>Last-token pooling that holds the forward thread inside <see cref="Pool"/> until released.</summary>
    private sealed class GatedPooling : IPoolingStrategy, IDisposable
    {
        private readonly ManualResetEventSlim entered = new();
        private readonly ManualResetEventSlim released = new();

        public string Name => "gated";

        public int? Layer => null;

        public int OutputDimension(DecoderConfig config) => config.HiddenSize;

        public Tensor Pool(PoolingContext context)
        {
            entered.Set();
            if (!released.Wait(Patience))
                throw new TimeoutException("the test never released the gate");
            return context.LastTokenHidden().to(ScalarType.Float32);
        }

        public void WaitUntilEntered()
        {
            if (!entered.Wait(Patience))
                throw new TimeoutException("the forward thread never reached the gate");
        }

        public void Release() => released.Set();

        public void Dispose()
        {
            released.Set();
            entered.Dispose();
            released.Dispose();
        }
    }

    /// <summary>Last-token pooling that counts its passes and rows.</summary>
    private sealed class CountingPooling : IPoolingStrategy, IDisposable
    {
        private int calls;
        private int rows;

        public string Name => "counting";

        public int? Layer => null;

        public int Calls => Volatile.Read(ref calls);

        public int Rows => Volatile.Read(ref rows);

        public int OutputDimension(DecoderConfig config) => config.HiddenSize;

        public Tensor Pool(PoolingContext context)
        {
            Interlocked.Increment(ref calls);
            Interlocked.Add(ref rows, (int)context.HiddenStates.shape[0]);
            return context.LastTokenHidden().to(ScalarType.Float32);
        }

        public void Reset()
        {
            Volatile.Write(ref calls, 0);
            Volatile.Write(ref rows, 0);
        }

        public void Dispose()
        {
        }
    }

    private sealed class FailingPooling : IPoolingStrategy
    {
        public const string Message = "pooling failed on purpose";

        public string Name => "failing";

        public int? Layer => null;

        public int OutputDimension(DecoderConfig config) => config.HiddenSize;

        public Tensor Pool(PoolingContext context) => throw new InvalidOperationException(Message);
    }
}
