using LastTokenEmbeddings.Similarity;

namespace LastTokenEmbeddings.Tests.Similarity;

public class CosineSimilarityTests
{
    private static double Naive(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }

        return dot / Math.Sqrt(na * nb);
    }

    private static float[] RandomVector(Random random, int length) =>
        Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();

    [TestCase(1)]
    [TestCase(3)]
    [TestCase(17)]
    [TestCase(4096)]
    public void Matches_a_naive_double_loop(int length)
    {
        var random = new Random(length);
        for (int k = 0; k < 20; k++)
        {
            float[] a = RandomVector(random, length);
            float[] b = RandomVector(random, length);
            Assert.That(CosineSimilarity.Compute(a, b), Is.EqualTo(Naive(a, b)).Within(1e-5));
        }
    }

    [Test]
    public void Identical_opposite_and_orthogonal_vectors()
    {
        float[] a = [1, 2, 3];
        Assert.That(CosineSimilarity.Compute(a, a), Is.EqualTo(1f).Within(1e-6));
        Assert.That(CosineSimilarity.Compute(a, [-1, -2, -3]), Is.EqualTo(-1f).Within(1e-6));
        Assert.That(CosineSimilarity.Compute([1, 0], [0, 5]), Is.EqualTo(0f).Within(1e-7));
        Assert.That(CosineSimilarity.Compute([3, 4], [4, 3]), Is.EqualTo(24f / 25f).Within(1e-6));
    }

    [Test]
    public void Result_stays_within_minus_one_and_one()
    {
        var random = new Random(3);
        for (int k = 0; k < 200; k++)
        {
            float[] a = RandomVector(random, 1 + random.Next(300));
            Assert.That(CosineSimilarity.Compute(a, a), Is.InRange(-1f, 1f).And.EqualTo(1f).Within(1e-5));
        }
    }

    [Test]
    public void Zero_vectors_give_zero_not_nan()
    {
        Assert.That(CosineSimilarity.Compute([0, 0, 0], [1, 2, 3]), Is.EqualTo(0f));
        Assert.That(CosineSimilarity.Compute([1, 2, 3], [0, 0, 0]), Is.EqualTo(0f));
        Assert.That(CosineSimilarity.Compute([0, 0, 0], [0, 0, 0]), Is.EqualTo(0f));
        Assert.That(CosineSimilarity.Compute([-0f, 0f], [1, 1]), Is.EqualTo(0f));
    }

    [Test]
    public void Huge_values_do_not_overflow_to_nan()
    {
        float[] a = [1e30f, 2e30f, -3e30f];
        float[] b = [2e30f, 1e30f, 1e30f];
        Assert.That(CosineSimilarity.Compute(a, b), Is.EqualTo(Naive([1, 2, -3], [2, 1, 1])).Within(1e-5));
    }

    [Test]
    public void Nan_elements_give_nan() =>
        Assert.That(CosineSimilarity.Compute([float.NaN, 1], [1, 1]), Is.NaN);

    [Test]
    public void Mismatched_lengths_are_rejected() =>
        Assert.That(
            () => CosineSimilarity.Compute([1, 2, 3], [1, 2]),
            Throws.ArgumentException.With.Property(nameof(ArgumentException.ParamName)).EqualTo("b"));

    [Test]
    public void Empty_vectors_are_rejected() =>
        Assert.That(() => CosineSimilarity.Compute([], []), Throws.ArgumentException);

    [Test]
    public void Matrix_is_queries_by_documents()
    {
        var random = new Random(11);
        float[][] queries = Enumerable.Range(0, 3).Select(_ => RandomVector(random, 64)).ToArray();
        float[][] documents = Enumerable.Range(0, 5).Select(_ => RandomVector(random, 64)).ToArray();
        documents[2] = new float[64];

        float[,] fromArrays = CosineSimilarity.Matrix(queries, documents);
        float[,] fromMemory = CosineSimilarity.Matrix(
            queries.Select(q => (ReadOnlyMemory<float>)q).ToList(),
            documents.Select(d => (ReadOnlyMemory<float>)d).ToList());

        Assert.That(fromArrays.GetLength(0), Is.EqualTo(3));
        Assert.That(fromArrays.GetLength(1), Is.EqualTo(5));
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 5; j++)
            {
                double expected = j == 2 ? 0 : Naive(queries[i], documents[j]);
                Assert.That(fromArrays[i, j], Is.EqualTo(expected).Within(1e-5), $"[{i},{j}]");
                Assert.That(fromMemory[i, j], Is.EqualTo(fromArrays[i, j]));
            }
        }
    }

    [Test]
    public void Matrix_with_no_queries_or_documents_is_empty()
    {
        float[][] one = [[1, 2]];
        Assert.That(CosineSimilarity.Matrix(Array.Empty<float[]>(), one).GetLength(0), Is.Zero);
        Assert.That(CosineSimilarity.Matrix(one, Array.Empty<float[]>()).GetLength(1), Is.Zero);
    }

    [Test]
    public void Matrix_rejects_bad_vectors()
    {
        float[][] good = [[1, 2], [3, 4]];
        Assert.That(
            () => CosineSimilarity.Matrix(good, [[1, 2], [1, 2, 3]]),
            Throws.ArgumentException.With.Property(nameof(ArgumentException.ParamName)).EqualTo("documents"));
        Assert.That(
            () => CosineSimilarity.Matrix([[1, 2], [1]], good),
            Throws.ArgumentException.With.Property(nameof(ArgumentException.ParamName)).EqualTo("queries"));
        Assert.That(
            () => CosineSimilarity.Matrix(good, [Array.Empty<float>()]),
            Throws.ArgumentException.With.Property(nameof(ArgumentException.ParamName)).EqualTo("documents"));
        Assert.That(
            () => CosineSimilarity.Matrix(good, [null!]),
            Throws.ArgumentException.With.Property(nameof(ArgumentException.ParamName)).EqualTo("documents"));
        Assert.That(() => CosineSimilarity.Matrix(null!, good), Throws.ArgumentNullException);
    }
}
