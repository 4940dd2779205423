using System.Numerics.Tensors;

namespace LastTokenEmbeddings.Similarity;

/// <summary>Cosine similarity between embedding vectors.</summary>
public static class CosineSimilarity
{
    /// <summary>
    /// Cosine similarity of two vectors, clamped to [-1, 1]. The similarity involving a zero vector is defined as 0
    /// (not NaN). Vectors whose squared norm overflows <see cref="float"/> are computed in double precision.
    /// A NaN element yields NaN.
    /// </summary>
    /// <param name="a">First vector.</param>
    /// <param name="b">Second vector, of the same length.</param>
    /// <returns>The cosine similarity.</returns>
    /// <exception cref="ArgumentException">The vectors are empty or have different lengths.</exception>
    public static float Compute(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"The vectors have different lengths ({a.Length} and {b.Length}).", nameof(b));
        }

        if (a.Length == 0)
        {
            throw new ArgumentException("The vectors are empty.", nameof(a));
        }

        return Core(a, b);
    }

    /// <summary>
    /// Cosine similarities of every query with every document: element <c>[i, j]</c> is
    /// <see cref="Compute"/>(<c>queries[i]</c>, <c>documents[j]</c>).
    /// </summary>
    /// <param name="queries">The query vectors; all of the same, non-zero length.</param>
    /// <param name="documents">The document vectors; same length as the queries.</param>
    /// <returns>A <c>queries.Count × documents.Count</c> matrix.</returns>
    /// <exception cref="ArgumentNullException">A list is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A vector is empty or its length differs from the others.</exception>
    public static float[,] Matrix(IReadOnlyList<ReadOnlyMemory<float>> queries, IReadOnlyList<ReadOnlyMemory<float>> documents)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(documents);
        int dimension = -1;
        CheckLengths(queries, nameof(queries), ref dimension);
        CheckLengths(documents, nameof(documents), ref dimension);

        var result = new float[queries.Count, documents.Count];
        for (int i = 0; i < queries.Count; i++)
        {
            ReadOnlySpan<float> q = queries[i].Span;
            for (int j = 0; j < documents.Count; j++)
            {
                result[i, j] = Core(q, documents[j].Span);
            }
        }

        return result;
    }

    /// <summary>
    /// Cosine similarities of every query with every document: element <c>[i, j]</c> is
    /// <see cref="Compute"/>(<c>queries[i]</c>, <c>documents[j]</c>).
    /// </summary>
    /// <param name="queries">The query vectors; all of the same, non-zero length.</param>
    /// <param name="documents">The document vectors; same length as the queries.</param>
    /// <returns>A <c>queries.Count × documents.Count</c> matrix.</returns>
    /// <exception cref="ArgumentNullException">A list is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A vector is <see langword="null"/>, empty, or its length differs from the others.</exception>
    public static float[,] Matrix(IReadOnlyList<float[]> queries, IReadOnlyList<float[]> documents)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(documents);
        return Matrix(ToMemories(queries, nameof(queries)), ToMemories(documents, nameof(documents)));
    }

    private static ReadOnlyMemory<float>[] ToMemories(IReadOnlyList<float[]> vectors, string paramName)
    {
        var result = new ReadOnlyMemory<float>[vectors.Count];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = vectors[i] ?? throw new ArgumentException($"Vector {i} is null.", paramName);
        }

        return result;
    }

    private static void CheckLengths(IReadOnlyList<ReadOnlyMemory<float>> vectors, string paramName, ref int dimension)
    {
        for (int i = 0; i < vectors.Count; i++)
        {
            int length = vectors[i].Length;
            if (length == 0)
            {
                throw new ArgumentException($"Vector {i} is empty.", paramName);
            }

            if (dimension < 0)
            {
                dimension = length;
            }
            else if (length != dimension)
            {
                throw new ArgumentException($"Vector {i} has length {length}, expected {dimension}.", paramName);
            }
        }
    }

    private static float Core(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float r = TensorPrimitives.CosineSimilarity(a, b);
        if (float.IsNaN(r))
        {
            if (TensorPrimitives.MaxMagnitude(a) == 0f || TensorPrimitives.MaxMagnitude(b) == 0f)
            {
                return 0f;
            }

            r = (float)InDouble(a, b);
        }

        return Math.Clamp(r, -1f, 1f);
    }

    private static double InDouble(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        // Scale by the largest magnitude first, so squares of huge (finite) values cannot overflow.
        double sa = Math.Abs((double)TensorPrimitives.MaxMagnitude(a));
        double sb = Math.Abs((double)TensorPrimitives.MaxMagnitude(b));
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double x = a[i] / sa;
            double y = b[i] / sb;
            dot += x * y;
            na += x * x;
            nb += y * y;
        }

        return dot / (Math.Sqrt(na) * Math.Sqrt(nb));
    }
}
