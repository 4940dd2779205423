using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Tests.Embeddings;

/// <summary>The fixture loaded once through the public API, in float32.</summary>
public static class EmbeddingFixture
{
    private static readonly Lazy<EmbeddingModel> Shared = new(() =>
        EmbeddingModel.Load(TestPaths.FixtureDirectory, new EmbeddingOptions(), new ModelLoadOptions { DType = ComputeDType.Float32 }));

    /// <summary>A new view (dispose it) of the shared float32 model.</summary>
    public static EmbeddingModel View(IPoolingStrategy pooling, PromptFormat prompt, bool normalize = true, Action<EmbeddingOptions>? configure = null)
    {
        var options = new EmbeddingOptions { Pooling = pooling, Prompt = prompt, Normalize = normalize };
        configure?.Invoke(options);
        return Shared.Value.WithOptions(options);
    }

    public static PromptFormat PromptFor(string mode) => mode switch
    {
        "raw" => PromptFormat.Raw,
        "chat" => PromptFormat.MistralInstruct,
        "e5" => PromptFormat.E5Instruct(ReferenceData.Root.GetProperty("e5_task").GetString()),
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    public static IPoolingStrategy PoolingFor(string name) => name switch
    {
        "last_token_logits" => PoolingStrategies.LastTokenLogits,
        "last_token_hidden" => PoolingStrategies.LastTokenHidden,
        "mean" => PoolingStrategies.Mean,
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };
}
