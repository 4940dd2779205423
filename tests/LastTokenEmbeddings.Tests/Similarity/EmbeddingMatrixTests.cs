using LastTokenEmbeddings.Similarity;

namespace LastTokenEmbeddings.Tests.Similarity;

public class EmbeddingMatrixTests
{
    [Test]
    public void FromRows_copies_rows_in_order()
    {
        float[][] rows = [[1, 2, 3], [4, 5, 6]];
        var matrix = EmbeddingMatrix.FromRows(rows);
        rows[0][0] = 99;

        Assert.That(matrix.RowCount, Is.EqualTo(2));
        Assert.That(matrix.Dimensions, Is.EqualTo(3));
        Assert.That(matrix.Values.ToArray(), Is.EqualTo(new float[] { 1, 2, 3, 4, 5, 6 }));
        Assert.That(matrix.Row(1).ToArray(), Is.EqualTo(new float[] { 4, 5, 6 }));
        Assert.That(matrix.RowMemory(0).ToArray(), Is.EqualTo(new float[] { 1, 2, 3 }));
    }

    [Test]
    public void FromRows_accepts_memories()
    {
        float[] backing = [9, 1, 2, 3, 4, 9];
        var matrix = EmbeddingMatrix.FromRows([backing.AsMemory(1, 2), backing.AsMemory(3, 2)]);
        Assert.That(matrix.Values.ToArray(), Is.EqualTo(new float[] { 1, 2, 3, 4 }));
    }

    [Test]
    public void FromFlat_wraps_the_buffer_without_copying()
    {
        float[] values = [1, 2, 3, 4, 5, 6];
        var matrix = EmbeddingMatrix.FromFlat(values, 2);
        Assert.That(matrix.RowCount, Is.EqualTo(3));
        Assert.That(matrix.Dimensions, Is.EqualTo(2));
        Assert.That(matrix.Values.Span == values.AsSpan(), Is.True, "same memory");
        Assert.That(matrix.Row(2).ToArray(), Is.EqualTo(new float[] { 5, 6 }));
    }

    [Test]
    public void Normalize_scales_rows_to_unit_length_in_a_copy_and_keeps_zero_rows_zero()
    {
        float[] values = [3, 4, 0, 0, -1, 0, 0, 0, 0, 1e-3f, 0, 0];
        var matrix = EmbeddingMatrix.FromFlat(values, 3, normalize: true);

        Assert.That(values[0], Is.EqualTo(3f), "the caller's buffer is untouched");
        Assert.That(matrix.Row(0).ToArray(), Is.EqualTo(new[] { 0.6f, 0.8f, 0f }).Within(1e-7f));
        Assert.That(matrix.Row(1).ToArray(), Is.EqualTo(new[] { 0f, -1f, 0f }));
        Assert.That(matrix.Row(2).ToArray(), Is.EqualTo(new[] { 0f, 0f, 0f }));
        Assert.That(matrix.Row(3).ToArray(), Is.EqualTo(new[] { 1f, 0f, 0f }));

        var fromRows = EmbeddingMatrix.FromRows([[3f, 4f, 0f]], normalize: true);
        Assert.That(fromRows.Row(0).ToArray(), Is.EqualTo(new[] { 0.6f, 0.8f, 0f }).Within(1e-7f));
    }

    [Test]
    public void Normalize_handles_rows_whose_squares_overflow_or_underflow()
    {
        var matrix = EmbeddingMatrix.FromRows([[3e30f, -4e30f], [3e-30f, 4e-30f]], normalize: true);
        Assert.That(matrix.Row(0).ToArray(), Is.EqualTo(new[] { 0.6f, -0.8f }).Within(1e-6f));
        Assert.That(matrix.Row(1).ToArray(), Is.EqualTo(new[] { 0.6f, 0.8f }).Within(1e-6f));
    }

    [Test]
    public void Rows_whose_squared_norm_is_not_representable_need_normalize()
    {
        Assert.That(
            () => EmbeddingMatrix.FromRows([[1, 1], [3e30f, 4e30f]]),
            Throws.ArgumentException.With.Message.Contains("Row 1").And.Message.Contains("overflows"));
        Assert.That(
            () => EmbeddingMatrix.FromFlat(new[] { 3e-30f, 4e-30f }, 2),
            Throws.ArgumentException.With.Message.Contains("underflows"));
    }

    [TestCase(float.NaN)]
    [TestCase(float.PositiveInfinity)]
    [TestCase(float.NegativeInfinity)]
    public void Non_finite_elements_are_rejected(float bad)
    {
        foreach (bool normalize in new[] { false, true })
        {
            Assert.That(
                () => EmbeddingMatrix.FromFlat(new[] { 1f, 2f, 3f, bad }, 2, normalize),
                Throws.ArgumentException.With.Message.Contains("Row 1, element 1"));
            Assert.That(
                () => EmbeddingMatrix.FromRows([[1f, 2f], [3f, bad]], normalize),
                Throws.ArgumentException.With.Property(nameof(ArgumentException.ParamName)).EqualTo("rows"));
        }
    }

    [Test]
    public void Bad_shapes_are_rejected()
    {
        Assert.That(() => EmbeddingMatrix.FromRows((IReadOnlyList<float[]>)null!), Throws.ArgumentNullException);
        Assert.That(() => EmbeddingMatrix.FromRows([[1f, 2f], null!]), Throws.ArgumentException.With.Message.Contains("Row 1 is null"));
        Assert.That(() => EmbeddingMatrix.FromRows([[1f, 2f], []]), Throws.ArgumentException.With.Message.Contains("Row 1 is empty"));
        Assert.That(
            () => EmbeddingMatrix.FromRows([[1f, 2f], [1f, 2f, 3f]]),
            Throws.ArgumentException.With.Message.Contains("Row 1 has length 3, expected 2"));
        Assert.That(() => EmbeddingMatrix.FromFlat(new float[5], 2), Throws.ArgumentException.With.Message.Contains("5"));
        Assert.That(() => EmbeddingMatrix.FromFlat(new float[4], 0), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void Empty_inputs_give_empty_matrices()
    {
        var none = EmbeddingMatrix.FromRows(Array.Empty<float[]>());
        Assert.That((none.RowCount, none.Dimensions), Is.EqualTo((0, 0)));
        var noRows = EmbeddingMatrix.FromFlat(ReadOnlyMemory<float>.Empty, 8);
        Assert.That((noRows.RowCount, noRows.Dimensions), Is.EqualTo((0, 8)));
    }

    [Test]
    public void Row_index_is_checked()
    {
        var matrix = EmbeddingMatrix.FromFlat(new float[] { 1, 2 }, 1);
        Assert.That(() => matrix.Row(2).Length, Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => matrix.Row(-1).Length, Throws.InstanceOf<ArgumentOutOfRangeException>());
    }
}
