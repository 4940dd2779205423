using System.Numerics.Tensors;

namespace LastTokenEmbeddings.Similarity;

/// <summary>
/// An immutable <see cref="RowCount"/> × <see cref="Dimensions"/> matrix of embeddings held row-major in one buffer,
/// so a batch of embeddings can be searched or quantized without one array per text.
/// </summary>
/// <remarks>
/// Every element is finite (construction rejects NaN and infinities, which would make rankings meaningless), and
/// each row's squared L2 norm is finite in <see cref="float"/>, so dot products between rows cannot overflow.
/// The row norms are computed once, at construction, so cosine similarity never needs normalised input.
/// </remarks>
public sealed class EmbeddingMatrix
{
    private readonly float[] _inverseNorms;

    private EmbeddingMatrix(ReadOnlyMemory<float> values, int rowCount, int dimensions, float[] inverseNorms)
    {
        Values = values;
        RowCount = rowCount;
        Dimensions = dimensions;
        _inverseNorms = inverseNorms;
    }

    /// <summary>The number of rows (embeddings).</summary>
    public int RowCount { get; }

    /// <summary>The length of every row; 0 only for a matrix built from an empty list of rows.</summary>
    public int Dimensions { get; }

    /// <summary>All elements, row-major: row <c>i</c> is <c>Values[(i * Dimensions)..((i + 1) * Dimensions)]</c>.</summary>
    public ReadOnlyMemory<float> Values { get; }

    /// <summary>One row.</summary>
    /// <param name="index">The row index, 0 ≤ <paramref name="index"/> &lt; <see cref="RowCount"/>.</param>
    /// <returns>The row's <see cref="Dimensions"/> elements.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is out of range.</exception>
    public ReadOnlySpan<float> Row(int index) => RowMemory(index).Span;

    /// <summary>One row, as memory that can be kept (for example as a <c>Embedding&lt;float&gt;</c> vector).</summary>
    /// <param name="index">The row index, 0 ≤ <paramref name="index"/> &lt; <see cref="RowCount"/>.</param>
    /// <returns>The row's <see cref="Dimensions"/> elements.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is out of range.</exception>
    public ReadOnlyMemory<float> RowMemory(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, RowCount);
        return Values.Slice(index * Dimensions, Dimensions);
    }

    /// <summary>1 / ‖row‖, or 0 for a zero row (so its cosine similarity with anything is 0).</summary>
    internal float InverseNorm(int row) => _inverseNorms[row];

    internal ReadOnlySpan<float> InverseNorms => _inverseNorms;

    /// <summary>Copies rows into a new matrix.</summary>
    /// <param name="rows">The rows; all of the same, non-zero length. An empty list gives a 0 × 0 matrix.</param>
    /// <param name="normalize">Whether to scale each row to unit L2 norm (a zero row stays zero).</param>
    /// <returns>The matrix.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="rows"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// A row is <see langword="null"/>, empty, of a different length than row 0, holds a NaN or infinity, or (when not
    /// normalising) has a squared norm that overflows <see cref="float"/>.
    /// </exception>
    public static EmbeddingMatrix FromRows(IReadOnlyList<float[]> rows, bool normalize = false)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var memories = new ReadOnlyMemory<float>[rows.Count];
        for (int i = 0; i < memories.Length; i++)
        {
            memories[i] = rows[i] ?? throw new ArgumentException($"Row {i} is null.", nameof(rows));
        }

        return FromRows(memories, normalize);
    }

    /// <summary>Copies rows into a new matrix.</summary>
    /// <param name="rows">The rows; all of the same, non-zero length. An empty list gives a 0 × 0 matrix.</param>
    /// <param name="normalize">Whether to scale each row to unit L2 norm (a zero row stays zero).</param>
    /// <returns>The matrix.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="rows"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// A row is empty, of a different length than row 0, holds a NaN or infinity, or (when not normalising) has a
    /// squared norm that overflows <see cref="float"/>.
    /// </exception>
    public static EmbeddingMatrix FromRows(IReadOnlyList<ReadOnlyMemory<float>> rows, bool normalize = false)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0)
        {
            return new EmbeddingMatrix(ReadOnlyMemory<float>.Empty, 0, 0, []);
        }

        int dimensions = rows[0].Length;
        for (int i = 0; i < rows.Count; i++)
        {
            int length = rows[i].Length;
            if (length == 0)
            {
                throw new ArgumentException($"Row {i} is empty.", nameof(rows));
            }

            if (length != dimensions)
            {
                throw new ArgumentException($"Row {i} has length {length}, expected {dimensions} (the length of row 0).", nameof(rows));
            }
        }

        var values = new float[checked(rows.Count * dimensions)];
        for (int i = 0; i < rows.Count; i++)
        {
            rows[i].Span.CopyTo(values.AsSpan(i * dimensions, dimensions));
        }

        return Create(values, dimensions, normalize, values, nameof(rows));
    }

    /// <summary>
    /// A matrix over a row-major buffer, for example a batch of embeddings written into one array. Without
    /// <paramref name="normalize"/> the buffer is wrapped, not copied: do not change it afterwards (the matrix caches
    /// its row norms). With <paramref name="normalize"/> the matrix holds a normalised copy.
    /// </summary>
    /// <param name="values">The elements, row-major; the length must be a multiple of <paramref name="dimensions"/> (0 allowed).</param>
    /// <param name="dimensions">The length of a row, at least 1.</param>
    /// <param name="normalize">Whether to scale each row to unit L2 norm (a zero row stays zero).</param>
    /// <returns>The matrix.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimensions"/> is less than 1.</exception>
    /// <exception cref="ArgumentException">
    /// The length is not a multiple of <paramref name="dimensions"/>, an element is NaN or infinite, or (when not
    /// normalising) a row's squared norm overflows <see cref="float"/>.
    /// </exception>
    public static EmbeddingMatrix FromFlat(ReadOnlyMemory<float> values, int dimensions, bool normalize = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimensions, 1);
        if (values.Length % dimensions != 0)
        {
            throw new ArgumentException($"The buffer's length {values.Length} is not a multiple of the row length {dimensions}.", nameof(values));
        }

        return Create(values, dimensions, normalize, ownedCopy: null, nameof(values));
    }

    /// <param name="values">The elements.</param>
    /// <param name="dimensions">The row length.</param>
    /// <param name="normalize">Whether to normalise rows.</param>
    /// <param name="ownedCopy"><paramref name="values"/>' array when this class made it (may be normalised in place).</param>
    /// <param name="paramName">The public argument the values came from, for exceptions.</param>
    private static EmbeddingMatrix Create(ReadOnlyMemory<float> values, int dimensions, bool normalize, float[]? ownedCopy, string paramName)
    {
        int rowCount = values.Length / dimensions;

        // Normalising never mutates the caller's buffer: FromRows already copied, FromFlat copies here.
        float[]? normalized = normalize ? ownedCopy ?? values.ToArray() : null;

        var inverseNorms = new float[rowCount];
        for (int i = 0; i < rowCount; i++)
        {
            ReadOnlySpan<float> row = values.Span.Slice(i * dimensions, dimensions);
            float sumOfSquares = TensorPrimitives.SumOfSquares(row);
            bool representable = float.IsFinite(sumOfSquares) && (sumOfSquares > 0 || TensorPrimitives.MaxMagnitude(row) == 0);
            if (!representable)
            {
                // NaN or ∞ in the sum: a non-finite element (rejected), or finite elements whose squares overflow;
                // 0 for a non-zero row: squares that underflow. Either way float dot products would be wrong.
                int bad = IndexOfNonFinite(row);
                if (bad >= 0)
                {
                    throw new ArgumentException($"Row {i}, element {bad} is {row[bad]}; embeddings must be finite.", paramName);
                }

                if (!normalize)
                {
                    throw new ArgumentException(
                        $"Row {i}'s squared norm {(sumOfSquares > 0 ? "overflows" : "underflows")} float; build the matrix with normalize: true.",
                        paramName);
                }
            }

            if (normalize)
            {
                Span<float> target = normalized.AsSpan(i * dimensions, dimensions);
                double norm = representable ? Math.Sqrt(sumOfSquares) : ScaledNorm(row);
                if (norm > 0)
                {
                    // Divide in double so rows whose norm exceeds float's range still normalise correctly.
                    for (int j = 0; j < target.Length; j++)
                    {
                        target[j] = (float)(row[j] / norm);
                    }
                }

                sumOfSquares = TensorPrimitives.SumOfSquares(target);
            }

            inverseNorms[i] = sumOfSquares > 0 ? (float)(1 / Math.Sqrt(sumOfSquares)) : 0f;
        }

        return new EmbeddingMatrix(normalized ?? values, rowCount, dimensions, inverseNorms);
    }

    private static int IndexOfNonFinite(ReadOnlySpan<float> row)
    {
        for (int j = 0; j < row.Length; j++)
        {
            if (!float.IsFinite(row[j]))
            {
                return j;
            }
        }

        return -1;
    }

    private static double ScaledNorm(ReadOnlySpan<float> row)
    {
        double scale = Math.Abs((double)TensorPrimitives.MaxMagnitude(row));
        double sum = 0;
        foreach (float x in row)
        {
            double scaled = x / scale;
            sum += scaled * scaled;
        }

        return scale * Math.Sqrt(sum);
    }
}
