using CsCheck;
using LastTokenEmbeddings.Similarity;

namespace LastTokenEmbeddings.Tests.Similarity;

/// <summary>The blocked score matrix and top-k search over <see cref="EmbeddingMatrix"/>, against brute force.</summary>
public class ScoreMatrixAndTopKTests
{
    internal static float[] RandomValues(Random random, int count) =>
        Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();

    internal static EmbeddingMatrix RandomMatrix(Random random, int rows, int dimensions, bool normalize = false) =>
        EmbeddingMatrix.FromFlat(RandomValues(random, rows * dimensions), dimensions, normalize);

    private static double NaiveCosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }

        return na == 0 || nb == 0 ? 0 : dot / Math.Sqrt(na * nb);
    }

    /// <summary>Brute-force top-k over given scores: full sort by score descending, then index ascending.</summary>
    internal static (int Index, T Score)[] BruteForceTopK<T>(IEnumerable<T> scores, int k, bool ascending = false)
        where T : IComparable<T>
    {
        var indexed = scores.Select((score, index) => (Index: index, Score: score));
        var ordered = ascending
            ? indexed.OrderBy(p => p.Score).ThenBy(p => p.Index)
            : indexed.OrderByDescending(p => p.Score).ThenBy(p => p.Index);
        return ordered.Take(k).ToArray();
    }

    private static float[] MatrixRow(float[,] matrix, int row) =>
        Enumerable.Range(0, matrix.GetLength(1)).Select(j => matrix[row, j]).ToArray();

    // Sizes around the kernel's 4-query × 2-row blocks and 8-float vectors, plus blocks and tiles of several.
    [TestCase(1, 1, 1)]
    [TestCase(3, 5, 7)]
    [TestCase(4, 2, 8)]
    [TestCase(5, 3, 9)]
    [TestCase(8, 17, 64)]
    [TestCase(67, 301, 100)]
    [TestCase(130, 70, 33)]
    [TestCase(2, 600, 1030)]
    public void Matrix_matches_a_double_precision_brute_force(int queryCount, int corpusCount, int dimensions)
    {
        var random = new Random((queryCount * 1000) + corpusCount + dimensions);
        var queries = RandomMatrix(random, queryCount, dimensions);
        var corpus = RandomMatrix(random, corpusCount, dimensions);

        float[,] scores = CosineSimilarity.Matrix(queries, corpus);

        Assert.That(scores.GetLength(0), Is.EqualTo(queryCount));
        Assert.That(scores.GetLength(1), Is.EqualTo(corpusCount));
        for (int i = 0; i < queryCount; i++)
        {
            for (int j = 0; j < corpusCount; j++)
            {
                Assert.That(scores[i, j], Is.EqualTo(NaiveCosine(queries.Row(i), corpus.Row(j))).Within(2e-6), $"[{i},{j}]");
            }
        }
    }

    [Test]
    public void Matrix_agrees_with_the_per_pair_overloads_and_ignores_normalisation()
    {
        var random = new Random(5);
        float[][] queries = Enumerable.Range(0, 6).Select(_ => RandomValues(random, 40)).ToArray();
        float[][] corpus = Enumerable.Range(0, 9).Select(_ => RandomValues(random, 40)).ToArray();
        corpus[4] = new float[40];

        float[,] perPair = CosineSimilarity.Matrix(queries, corpus);
        float[,] raw = CosineSimilarity.Matrix(EmbeddingMatrix.FromRows(queries), EmbeddingMatrix.FromRows(corpus));
        float[,] normalized = CosineSimilarity.Matrix(
            EmbeddingMatrix.FromRows(queries, normalize: true), EmbeddingMatrix.FromRows(corpus, normalize: true));

        for (int i = 0; i < 6; i++)
        {
            Assert.That(raw[i, 4], Is.EqualTo(0f), "zero row");
            for (int j = 0; j < 9; j++)
            {
                Assert.That(raw[i, j], Is.EqualTo(perPair[i, j]).Within(1e-6), $"raw [{i},{j}]");
                Assert.That(normalized[i, j], Is.EqualTo(perPair[i, j]).Within(1e-6), $"normalised [{i},{j}]");
            }
        }
    }

    [Test]
    public void Matrix_hand_worked_example()
    {
        var queries = EmbeddingMatrix.FromRows([[1f, 0f], [3f, 4f]]);
        var corpus = EmbeddingMatrix.FromRows([[0f, 2f], [4f, 3f], [-1f, 0f], [0f, 0f]]);
        float[,] scores = CosineSimilarity.Matrix(queries, corpus);
        float[,] expected = { { 0f, 0.8f, -1f, 0f }, { 0.8f, 0.96f, -0.6f, 0f } };
        Assert.That(scores, Is.EqualTo(expected).Within(1e-6f));
    }

    [Test]
    public void Scores_stay_within_minus_one_and_one()
    {
        var random = new Random(9);
        var rows = RandomMatrix(random, 50, 300);
        float[,] self = CosineSimilarity.Matrix(rows, rows);
        foreach (float s in self)
        {
            Assert.That(s, Is.InRange(-1f, 1f));
        }

        for (int i = 0; i < 50; i++)
        {
            Assert.That(self[i, i], Is.EqualTo(1f).Within(1e-6f));
        }
    }

    [Test]
    public void Dimension_mismatch_names_both_dimensions()
    {
        var queries = EmbeddingMatrix.FromFlat(new float[6], 3);
        var corpus = EmbeddingMatrix.FromFlat(new float[8], 4);
        static NUnit.Framework.Constraints.IResolveConstraint Expected() => Throws.ArgumentException
            .With.Message.Contains("3 dimensions").And.Message.Contains("has 4")
            .And.Property(nameof(ArgumentException.ParamName)).EqualTo("corpus");
        Assert.That(() => CosineSimilarity.Matrix(queries, corpus), Expected());
        Assert.That(() => CosineSimilarity.TopK(queries, corpus, 1), Expected());
        Assert.That(() => CosineSimilarity.TopK(null!, corpus, 1), Throws.ArgumentNullException);
        Assert.That(() => CosineSimilarity.Matrix(queries, null!), Throws.ArgumentNullException);
    }

    [Test]
    public void Empty_corpus_or_queries_give_empty_results()
    {
        var queries = EmbeddingMatrix.FromFlat(new float[] { 1, 2, 3, 4 }, 2);
        var noCorpus = EmbeddingMatrix.FromFlat(ReadOnlyMemory<float>.Empty, 2);
        var noRowsAtAll = EmbeddingMatrix.FromRows(Array.Empty<float[]>());

        Assert.That(CosineSimilarity.Matrix(queries, noCorpus).GetLength(1), Is.Zero);
        Assert.That(CosineSimilarity.Matrix(queries, noRowsAtAll).GetLength(0), Is.EqualTo(2));
        SearchHit<float>[][] hits = CosineSimilarity.TopK(queries, noRowsAtAll, 5);
        Assert.That(hits, Has.Length.EqualTo(2));
        Assert.That(hits, Has.All.Empty);
        Assert.That(CosineSimilarity.TopK(noRowsAtAll, queries, 5), Is.Empty);
    }

    [TestCase(0)]
    [TestCase(-3)]
    public void K_must_be_positive(int k)
    {
        var m = EmbeddingMatrix.FromFlat(new float[] { 1, 2 }, 2);
        Assert.That(
            () => CosineSimilarity.TopK(m, m, k),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property(nameof(ArgumentException.ParamName)).EqualTo("k"));
    }

    [Test]
    public void K_larger_than_the_corpus_returns_every_row_sorted()
    {
        var queries = EmbeddingMatrix.FromRows([[1f, 0f]]);
        var corpus = EmbeddingMatrix.FromRows([[0f, 1f], [1f, 1f], [1f, 0f]]);
        SearchHit<float>[] hits = CosineSimilarity.TopK(queries, corpus, 10)[0];
        Assert.That(hits.Select(h => h.Index), Is.EqualTo(new[] { 2, 1, 0 }));
        Assert.That(hits.Select(h => h.Score), Is.EqualTo(new[] { 1f, MathF.Sqrt(0.5f), 0f }).Within(1e-6f));
    }

    [Test]
    public void The_largest_k_returns_every_row_sorted_on_the_parallel_path_too()
    {
        var random = new Random(4);
        var queries = RandomMatrix(random, 1, 256);
        var corpus = RandomMatrix(random, 20000, 256);
        float[,] scores = CosineSimilarity.Matrix(queries, corpus);

        SearchHit<float>[] hits = CosineSimilarity.TopK(queries, corpus, int.MaxValue)[0];

        Assert.That(hits.Select(h => (h.Index, h.Score)), Is.EqualTo(BruteForceTopK(MatrixRow(scores, 0), int.MaxValue)));
    }

    // Sizes that reach the serial path, the parallel-over-query-blocks path (>64 queries) and the
    // parallel-over-corpus-chunks path (one block, large corpus).
    [TestCase(1, 50, 16, 5)]
    [TestCase(7, 333, 31, 10)]
    [TestCase(130, 400, 100, 10)]
    [TestCase(3, 6000, 300, 7)]
    [TestCase(1, 20000, 256, 25)]
    public void TopK_matches_a_full_sort_of_the_score_matrix(int queryCount, int corpusCount, int dimensions, int k)
    {
        var random = new Random(corpusCount + k);
        var queries = RandomMatrix(random, queryCount, dimensions);
        var corpus = RandomMatrix(random, corpusCount, dimensions);

        float[,] scores = CosineSimilarity.Matrix(queries, corpus);
        SearchHit<float>[][] hits = CosineSimilarity.TopK(queries, corpus, k);

        Assert.That(hits, Has.Length.EqualTo(queryCount));
        for (int q = 0; q < queryCount; q++)
        {
            var expected = BruteForceTopK(MatrixRow(scores, q), k);
            Assert.That(hits[q].Select(h => (h.Index, h.Score)), Is.EqualTo(expected), $"query {q}");
        }
    }

    [Test]
    public void Ties_are_broken_by_lower_corpus_index_even_across_parallel_chunks()
    {
        // Every corpus row is one of 4 vectors, so scores tie in large groups spread over the whole corpus.
        var random = new Random(17);
        float[][] prototypes = Enumerable.Range(0, 4).Select(_ => RandomValues(random, 256)).ToArray();
        float[][] rows = Enumerable.Range(0, 20000).Select(i => prototypes[(i * 7 % 13) % 4]).ToArray();
        var corpus = EmbeddingMatrix.FromRows(rows);
        var queries = EmbeddingMatrix.FromRows([prototypes[2]]);

        SearchHit<float>[] hits = CosineSimilarity.TopK(queries, corpus, 30)[0];

        int[] expected = Enumerable.Range(0, 20000).Where(i => (i * 7 % 13) % 4 == 2).Take(30).ToArray();
        Assert.That(hits.Select(h => h.Index), Is.EqualTo(expected));
        Assert.That(hits.Select(h => h.Score), Has.All.EqualTo(1f).Within(1e-6f));
    }

    [Test]
    public void TopK_property_random_shapes_match_brute_force()
    {
        var gen = Gen.Select(Gen.Int[1, 9], Gen.Int[0, 40], Gen.Int[1, 20], Gen.Int[1, 12], Gen.Int);
        gen.Sample((queryCount, corpusCount, dimensions, k, seed) =>
        {
            var random = new Random(seed);
            // Few distinct values make exact ties common.
            float[] Values(int n) => Enumerable.Range(0, n).Select(_ => (float)random.Next(-2, 3)).ToArray();
            var queries = EmbeddingMatrix.FromFlat(Values(queryCount * dimensions), dimensions);
            var corpus = EmbeddingMatrix.FromFlat(Values(corpusCount * dimensions), dimensions);
            float[,] scores = CosineSimilarity.Matrix(queries, corpus);
            SearchHit<float>[][] hits = CosineSimilarity.TopK(queries, corpus, k);
            for (int q = 0; q < queryCount; q++)
            {
                var expected = BruteForceTopK(MatrixRow(scores, q), k);
                if (!hits[q].Select(h => (h.Index, h.Score)).SequenceEqual(expected))
                {
                    return false;
                }
            }

            return true;
        }, iter: 300);
    }
}
