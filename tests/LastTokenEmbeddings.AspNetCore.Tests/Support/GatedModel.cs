using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.AspNetCore.Tests.Support;

/// <summary>
/// A model that holds every call until the test opens its gate, so tests decide exactly how many requests are
/// inside the model at once (no timing involved). Vectors are derived from the text, so each request can check
/// it got its own.
/// </summary>
public sealed class GatedModel : IEmbeddingModel
{
    private readonly TaskCompletionSource gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim entered = new(0);
    private readonly SemaphoreSlim cancelled = new(0);
    private int active;
    private int maxActive;

    /// <inheritdoc />
    public string ModelId => "gated";

    /// <inheritdoc />
    public int Dimensions => 4;

    /// <inheritdoc />
    public int MaxTokens => 32;

    /// <inheritdoc />
    public bool Normalize => false;

    /// <inheritdoc />
    public IPoolingStrategy Pooling => PoolingStrategies.LastTokenHidden;

    /// <inheritdoc />
    public PromptFormat Prompt => PromptFormat.Raw;

    /// <summary>Most calls that were inside the model at the same time.</summary>
    public int MaxConcurrentCalls => Volatile.Read(ref maxActive);

    /// <summary>Calls inside the model now.</summary>
    public int ActiveCalls => Volatile.Read(ref active);

    /// <summary>Lets every held and future call finish.</summary>
    public void Open() => gate.TrySetResult();

    /// <summary>Waits until <paramref name="count"/> more calls have entered the model.</summary>
    public async Task WaitForCallsAsync(int count = 1)
    {
        for (var i = 0; i < count; i++)
            Assert.That(await entered.WaitAsync(TimeSpan.FromSeconds(30)), Is.True, "a call entered the model");
    }

    /// <summary>Waits until a held call saw its cancellation token fire.</summary>
    public async Task WaitForCancellationAsync() =>
        Assert.That(await cancelled.WaitAsync(TimeSpan.FromSeconds(30)), Is.True, "a held call was cancelled");

    /// <summary>The vector this model gives <paramref name="text"/>.</summary>
    public static float[] VectorOf(string text) => [text.Length, text.Length > 0 ? text[0] : 0, 1, -1];

    /// <inheritdoc />
    public int[] Tokenize(string text, TextRole role = TextRole.Query) => [.. text.Select(c => (int)c % 100)];

    /// <inheritdoc />
    public int[] Tokenize(string text, EmbeddingCallOptions call) => Tokenize(text);

    /// <inheritdoc />
    public async Task<TextEmbedding> EmbedAsync(string text, TextRole role = TextRole.Query, CancellationToken cancellationToken = default) =>
        (await EmbedAsync([text], role, null, cancellationToken))[0];

    /// <inheritdoc />
    public Task<IReadOnlyList<TextEmbedding>> EmbedAsync(IReadOnlyList<string> texts, TextRole role = TextRole.Query,
        IProgress<EmbeddingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        EmbedAsync(texts, EmbeddingCallOptions.Query, progress, cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<TextEmbedding>> EmbedAsync(IReadOnlyList<string> texts, EmbeddingCallOptions call,
        IProgress<EmbeddingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var now = Interlocked.Increment(ref active);
        InterlockedMax(ref maxActive, now);
        try
        {
            entered.Release();
            try
            {
                await gate.Task.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                cancelled.Release();
                throw;
            }
            return [.. texts.Select(text => new TextEmbedding(VectorOf(text), Math.Max(1, text.Length), false))];
        }
        finally
        {
            Interlocked.Decrement(ref active);
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<TextEmbedding>> EmbedTokenIdsAsync(IReadOnlyList<IReadOnlyList<int>> ids,
        IProgress<EmbeddingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        EmbedAsync([.. ids.Select(sequence => new string('x', sequence.Count))], EmbeddingCallOptions.Query, progress, cancellationToken);

    /// <inheritdoc />
    public void Dispose()
    {
        entered.Dispose();
        cancelled.Dispose();
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
