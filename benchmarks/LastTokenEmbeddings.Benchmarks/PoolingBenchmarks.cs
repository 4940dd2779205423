using BenchmarkDotNet.Attributes;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Pooling;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Benchmarks;

/// <summary>Embedding throughput of the four pooling strategies across models, batch sizes and text lengths.</summary>
[MemoryDiagnoser]
public class PoolingBenchmarks
{
    private EmbeddingModel? model;
    private int[][] ids = [];

    /// <summary>Model key (see <see cref="BenchModels.Keys"/>).</summary>
    [ParamsSource(nameof(Models))]
    public string Model { get; set; } = "tiny";

    /// <summary>Pooling strategy name.</summary>
    [ParamsSource(nameof(Poolings))]
    public string Pooling { get; set; } = "last-token-hidden";

    /// <summary>Texts per call (one batch).</summary>
    [ParamsSource(nameof(BatchSizes))]
    public int BatchSize { get; set; }

    /// <summary>Tokens per text.</summary>
    [ParamsSource(nameof(TextLengths))]
    public int TextLength { get; set; }

    /// <summary>Model keys for this run.</summary>
    public static IEnumerable<string> Models => BenchModels.Keys;

    /// <summary>Pooling names.</summary>
    public static IEnumerable<string> Poolings => PoolingStrategies.Names;

    /// <summary>Batch sizes for this run.</summary>
    public static IEnumerable<int> BatchSizes => BenchModels.Smoke ? [1] : [1, 8, 32];

    /// <summary>Text lengths for this run.</summary>
    public static IEnumerable<int> TextLengths => BenchModels.Smoke ? [16] : [32, 128, 512];

    /// <summary>Loads the model (synthesizing it once into the cache when needed) and builds the token ids.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var (directory, loadOptions) = BenchModels.Resolve(Model);
        model = EmbeddingModel.Load(directory, new EmbeddingOptions { Pooling = PoolingStrategies.Parse(Pooling) }, loadOptions);
        ids = Enumerable.Range(0, BatchSize).Select(i => BenchModels.Ids(i, TextLength)).ToArray();
    }

    /// <summary>Frees the weights.</summary>
    [GlobalCleanup]
    public void Cleanup() => model?.Dispose();

    /// <summary>One batched call, pooled.</summary>
    [Benchmark]
    public float[][] Embed() => model!.EmbedTokenIds(ids);
}

/// <summary>
/// The article's method (one text at a time, logits for every position, last row kept) against the library's
/// batched last-token-logits pooling, which sends only the last rows through the LM head.
/// </summary>
[MemoryDiagnoser]
public class ArticleBaselineBenchmarks
{
    private EmbeddingModel? model;
    private int[][] ids = [];

    /// <summary>Model key.</summary>
    [ParamsSource(nameof(Models))]
    public string Model { get; set; } = "tiny";

    /// <summary>Texts per call.</summary>
    [ParamsSource(nameof(BatchSizes))]
    public int BatchSize { get; set; }

    /// <summary>Tokens per text.</summary>
    [ParamsSource(nameof(TextLengths))]
    public int TextLength { get; set; }

    /// <summary>Model keys for this run.</summary>
    public static IEnumerable<string> Models => BenchModels.Keys;

    /// <summary>Batch sizes for this run.</summary>
    public static IEnumerable<int> BatchSizes => BenchModels.Smoke ? [2] : [8];

    /// <summary>Text lengths for this run.</summary>
    public static IEnumerable<int> TextLengths => BenchModels.Smoke ? [16] : [32, 128];

    /// <summary>Loads the model and builds the token ids.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var (directory, loadOptions) = BenchModels.Resolve(Model);
        model = EmbeddingModel.Load(directory, new EmbeddingOptions { Pooling = PoolingStrategies.LastTokenLogits, Normalize = false }, loadOptions);
        ids = Enumerable.Range(0, BatchSize).Select(i => BenchModels.Ids(i, TextLength)).ToArray();
    }

    /// <summary>Frees the weights.</summary>
    [GlobalCleanup]
    public void Cleanup() => model?.Dispose();

    /// <summary>The article: per text, <c>model(ids).logits</c> ([1, seq, vocab]) then the last row.</summary>
    [Benchmark(Baseline = true)]
    public float[][] ArticleOneAtATimeFullLogits() => ArticlePath.Embed(model!, ids);

    /// <summary>The library: one batch, LM head on the last rows only.</summary>
    [Benchmark]
    public float[][] LibraryBatchedLastTokenLogits() => model!.EmbedTokenIds(ids);
}

/// <summary>The article's embedding path, for baselines.</summary>
public static class ArticlePath
{
    /// <summary>One text at a time: full logits [1, seq, vocab], last row taken, as float32.</summary>
    public static float[][] Embed(EmbeddingModel model, int[][] texts)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(texts);
        var decoder = model.Decoder;
        var result = new float[texts.Length][];
        for (var i = 0; i < texts.Length; i++)
        {
            using var scope = NewDisposeScope();
            var ids = tensor(texts[i].Select(x => (long)x).ToArray(), [1, texts[i].Length]);
            var mask = ones([1, texts[i].Length], ScalarType.Bool);
            var logits = decoder.forward(ids, mask);
            result[i] = logits[0, -1].to(ScalarType.Float32).data<float>().ToArray();
        }
        return result;
    }
}
