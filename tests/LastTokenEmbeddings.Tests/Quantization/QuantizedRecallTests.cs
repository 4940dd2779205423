using System.Globalization;
using LastTokenEmbeddings.Checkpoints.Safetensors;
using LastTokenEmbeddings.Quantization;
using LastTokenEmbeddings.Similarity;

namespace LastTokenEmbeddings.Tests.Quantization;

/// <summary>
/// The ranking cost of quantization, measured: recall@10 of each quantized search against exact float32 cosine
/// top-10, and the Spearman correlation of its scores with the float32 cosines, on the fixtures' real hidden states and
/// on seeded synthetic clusters. The numbers are printed (and published in docs/similarity-and-quantization.md); each
/// test asserts floors a little below them, so a regression in quantization or search fails.
/// </summary>
public class QuantizedRecallTests
{
    private const int K = 10;

    /// <summary>A search method's recall@10 and mean per-query Spearman correlation (NaN where not measured).</summary>
    public sealed record Measurement(string Method, double Recall, double Spearman);

    private static string FixturePath(string model) =>
        Path.Combine(Path.GetDirectoryName(TestPaths.FixtureDirectory)!, model, "reference.safetensors");

    /// <summary>
    /// Every token's final hidden state from the fixture's float32 reference outputs (all prompt modes and texts),
    /// exact duplicates removed (shared prompt prefixes give identical states, which would make top-10 sets ambiguous),
    /// L2-normalised; every 10th row is a query, the rest the corpus.
    /// </summary>
    private static (EmbeddingMatrix Queries, EmbeddingMatrix Corpus) FixtureVectors(string model)
    {
        using var file = SafetensorsFile.Open(FixturePath(model));
        var rows = new List<float[]>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string key in file.Tensors.Keys.Where(k => k.StartsWith("float32/", StringComparison.Ordinal) && k.EndsWith("/last_hidden_state", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var tensor = file.Read(key);
            int dimensions = (int)tensor.shape[^1];
            float[] values = tensor.data<float>().ToArray();
            for (int offset = 0; offset < values.Length; offset += dimensions)
            {
                float[] row = values.AsSpan(offset, dimensions).ToArray();
                if (seen.Add(Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(row.AsSpan()))))
                {
                    rows.Add(row);
                }
            }
        }

        return Split(rows);
    }

    /// <summary>Seeded clusters: 50 Gaussian centres in 384 dimensions, each row a centre plus Gaussian noise of similar size.</summary>
    private static (EmbeddingMatrix Queries, EmbeddingMatrix Corpus) SyntheticClusters()
    {
        const int dimensions = 384, clusters = 50, rowCount = 5500;
        var random = new Random(20240611);
        double Gaussian() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        double[][] centres = Enumerable.Range(0, clusters).Select(_ => Enumerable.Range(0, dimensions).Select(_ => Gaussian()).ToArray()).ToArray();
        var rows = new List<float[]>(rowCount);
        for (int i = 0; i < rowCount; i++)
        {
            double[] centre = centres[random.Next(clusters)];
            rows.Add(centre.Select(c => (float)(c + (0.9 * Gaussian()))).ToArray());
        }

        return Split(rows);
    }

    private static (EmbeddingMatrix Queries, EmbeddingMatrix Corpus) Split(List<float[]> rows) =>
        (EmbeddingMatrix.FromRows(rows.Where((_, i) => i % 10 == 0).ToList(), normalize: true),
         EmbeddingMatrix.FromRows(rows.Where((_, i) => i % 10 != 0).ToList(), normalize: true));

    /// <summary>Measures every quantized search on one data set, calibrated on the corpus.</summary>
    public static IReadOnlyList<Measurement> Measure(EmbeddingMatrix queries, EmbeddingMatrix corpus)
    {
        SearchHit<float>[][] truth = CosineSimilarity.TopK(queries, corpus, K);
        float[,] cosines = CosineSimilarity.Matrix(queries, corpus);
        var ranges = QuantizationRanges.Calibrate(corpus);
        var int8Queries = ScalarQuantization.QuantizeInt8(queries, ranges);
        var int8Corpus = ScalarQuantization.QuantizeInt8(corpus, ranges);
        var uint8Queries = ScalarQuantization.QuantizeUInt8(queries, ranges);
        var uint8Corpus = ScalarQuantization.QuantizeUInt8(corpus, ranges);
        var binaryQueries = BinaryQuantization.Quantize(queries);
        var binaryCorpus = BinaryQuantization.Quantize(corpus);
        var int8Approximation = ScalarQuantization.Dequantize(int8Corpus);
        float[,] approximateCosines = CosineSimilarity.Matrix(queries, int8Approximation);

        double Spearman(Func<int, int, double> score)
        {
            double total = 0;
            for (int q = 0; q < queries.RowCount; q++)
            {
                double[] exact = Enumerable.Range(0, corpus.RowCount).Select(j => (double)cosines[q, j]).ToArray();
                double[] approximate = Enumerable.Range(0, corpus.RowCount).Select(j => score(q, j)).ToArray();
                total += Pearson(Ranks(exact), Ranks(approximate));
            }

            return total / queries.RowCount;
        }

        Measurement Of<T>(string method, SearchHit<T>[][] hits, Func<int, int, double>? score)
            where T : struct =>
            new(method, Recall(truth, hits), score is null ? double.NaN : Spearman(score));

        return
        [
            Of("int8 (code dot product)", ScalarQuantization.TopK(int8Queries, int8Corpus, K),
                (q, j) => ScalarQuantization.DotProduct(int8Queries.Row(q), int8Corpus.Row(j))),
            Of("uint8 (code dot product)", ScalarQuantization.TopK(uint8Queries, uint8Corpus, K),
                (q, j) => ScalarQuantization.DotProduct(uint8Queries.Row(q), uint8Corpus.Row(j))),
            Of("int8 dequantized, float query (cosine)", CosineSimilarity.TopK(queries, int8Approximation, K),
                (q, j) => approximateCosines[q, j]),
            Of("binary (Hamming)", BinaryQuantization.TopK(binaryQueries, binaryCorpus, K),
                (q, j) => -BinaryQuantization.HammingDistance(binaryQueries.Row(q), binaryCorpus.Row(j))),
            Of("binary ×4 candidates, float rescore", BinaryQuantization.TopKRescored(queries, binaryCorpus, corpus, K, 4), null),
            Of("binary ×4 candidates, int8 rescore", BinaryQuantization.TopKRescored(queries, binaryCorpus, int8Corpus, K, 4), null),
            Of("binary ×10 candidates, float rescore", BinaryQuantization.TopKRescored(queries, binaryCorpus, corpus, K, 10), null),
        ];
    }

    private static double Recall<T>(SearchHit<float>[][] truth, SearchHit<T>[][] hits)
        where T : struct
    {
        double total = 0;
        for (int q = 0; q < truth.Length; q++)
        {
            var expected = truth[q].Select(h => h.Index).ToHashSet();
            total += hits[q].Count(h => expected.Contains(h.Index)) / (double)expected.Count;
        }

        return total / truth.Length;
    }

    /// <summary>Ranks with ties given their average rank (as scipy's rankdata).</summary>
    private static double[] Ranks(double[] values)
    {
        int[] order = Enumerable.Range(0, values.Length).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Length];
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]])
            {
                end++;
            }

            for (int i = start; i <= end; i++)
            {
                ranks[order[i]] = (start + end) / 2.0;
            }

            start = end + 1;
        }

        return ranks;
    }

    private static double Pearson(double[] a, double[] b)
    {
        double meanA = a.Average(), meanB = b.Average(), cov = 0, varA = 0, varB = 0;
        for (int i = 0; i < a.Length; i++)
        {
            cov += (a[i] - meanA) * (b[i] - meanB);
            varA += (a[i] - meanA) * (a[i] - meanA);
            varB += (b[i] - meanB) * (b[i] - meanB);
        }

        return cov / Math.Sqrt(varA * varB);
    }

    private static void Report(string dataSet, EmbeddingMatrix queries, EmbeddingMatrix corpus, IReadOnlyList<Measurement> measurements)
    {
        TestContext.Out.WriteLine($"{dataSet}: {queries.RowCount} queries, {corpus.RowCount} corpus rows, {corpus.Dimensions} dimensions");
        foreach (Measurement m in measurements)
        {
            TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {m.Method,-42} recall@10 {m.Recall:F3}  Spearman {m.Spearman:F4}"));
        }
    }

    // Floors: the measured value (in the doc) less about 0.03 for recall@10 and 0.02 for Spearman, in table order:
    // int8 code dot, uint8 code dot, int8 dequantized cosine, binary, binary ×4 + float, binary ×4 + int8, binary ×10 + float.
    private static readonly Dictionary<string, (double Recall, double Spearman)[]> Floors = new()
    {
        ["tiny-mistral"] = [(0.72, 0.90), (0.17, 0.31), (0.93, 0.999), (0.48, 0.62), (0.72, double.NaN), (0.70, double.NaN), (0.82, double.NaN)],
        ["tiny-qwen3"] = [(0.74, 0.89), (0.11, 0.28), (0.96, 0.999), (0.38, 0.61), (0.64, double.NaN), (0.64, double.NaN), (0.85, double.NaN)],
        ["synthetic clusters"] = [(0.70, 0.93), (0.15, 0.30), (0.95, 0.999), (0.30, 0.61), (0.72, double.NaN), (0.72, double.NaN), (0.97, double.NaN)],
    };

    private static void Check(string dataSet, EmbeddingMatrix queries, EmbeddingMatrix corpus)
    {
        IReadOnlyList<Measurement> measurements = Measure(queries, corpus);
        Report(dataSet, queries, corpus, measurements);
        (double Recall, double Spearman)[] floors = Floors[dataSet];
        Assert.That(measurements, Has.Count.EqualTo(floors.Length));
        Assert.Multiple(() =>
        {
            for (int i = 0; i < floors.Length; i++)
            {
                Measurement m = measurements[i];
                Assert.That(m.Recall, Is.GreaterThanOrEqualTo(floors[i].Recall), $"{m.Method} recall@10");
                if (!double.IsNaN(floors[i].Spearman))
                {
                    Assert.That(m.Spearman, Is.GreaterThanOrEqualTo(floors[i].Spearman), $"{m.Method} Spearman");
                }
            }

            // The orderings the doc recommends on: dequantizing beats raw codes, rescoring beats bare Hamming, more candidates help.
            Assert.That(measurements[2].Recall, Is.GreaterThan(measurements[0].Recall), "dequantized int8 vs code dot");
            Assert.That(measurements[4].Recall, Is.GreaterThan(measurements[3].Recall), "rescored binary vs Hamming");
            Assert.That(measurements[6].Recall, Is.GreaterThan(measurements[4].Recall), "×10 vs ×4 candidates");
        });
    }

    [TestCase("tiny-mistral")]
    [TestCase("tiny-qwen3")]
    public void Recall_on_fixture_hidden_states(string model)
    {
        var (queries, corpus) = FixtureVectors(model);
        Check(model, queries, corpus);
    }

    [Test]
    public void Recall_on_synthetic_clusters()
    {
        var (queries, corpus) = SyntheticClusters();
        Check("synthetic clusters", queries, corpus);
    }
}
