using CsCheck;
using LastTokenEmbeddings.Quantization;
using LastTokenEmbeddings.Similarity;
using LastTokenEmbeddings.Tests.Similarity;

namespace LastTokenEmbeddings.Tests.Quantization;

public class ScalarQuantizationTests
{
    // Six 5-dimensional float32 embeddings, quantized with ranges calibrated from themselves (so every value is in range,
    // and each dimension's minimum and maximum occur); the codes are numpy's, from sentence-transformers' formulas:
    //   ranges = np.vstack((emb.min(0), emb.max(0))); starts = ranges[0]; steps = (ranges[1] - ranges[0]) / 255
    //   ((emb - starts) / steps).astype(np.uint8) and ((emb - starts) / steps - 128).astype(np.int8)
    // u = (x − start) / step reaches only 254.99998 at some maximums (dimension 2 of row 1), so those give 254 / 126.
    private static readonly float[][] NumpyEmbeddings =
    [
        [0.001f, 0.299f, -0.274f, -0.891f, -0.455f],
        [-0.992f, 0.06f, 1.34f, -0.492f, -0.62f],
        [0.49f, 0.357f, 0.105f, -0.93f, -0.029f],
        [0.695f, -1.344f, -0.458f, -1.901f, -1.29f],
        [-1.842f, -0.235f, -1.267f, 0.271f, 0.157f],
        [-0.187f, -2.517f, -0.539f, -0.049f, 0.113f],
    ];

    private static readonly byte[][] NumpyUInt8 =
    [
        [185, 249, 97, 118, 147], [85, 228, 254, 165, 118], [234, 255, 134, 113, 222],
        [255, 104, 79, 0, 0], [0, 202, 0, 254, 255], [166, 0, 71, 217, 247],
    ];

    private static readonly sbyte[][] NumpyInt8 =
    [
        [57, 121, -30, -9, 19], [-42, 100, 126, 37, -9], [106, 127, 6, -14, 94],
        [127, -23, -48, -128, -128], [-128, 74, -128, 126, 127], [38, -128, -56, 89, 119],
    ];

    [Test]
    public void Codes_match_sentence_transformers_for_values_in_range()
    {
        var embeddings = EmbeddingMatrix.FromRows(NumpyEmbeddings);
        var ranges = QuantizationRanges.Calibrate(embeddings);

        var uint8 = ScalarQuantization.QuantizeUInt8(embeddings, ranges);
        var int8 = ScalarQuantization.QuantizeInt8(embeddings, ranges);

        Assert.That((uint8.RowCount, uint8.Dimensions, int8.RowCount, int8.Dimensions), Is.EqualTo((6, 5, 6, 5)));
        Assert.That(uint8.Ranges, Is.SameAs(ranges));
        Assert.That(uint8.Values.ToArray(), Is.EqualTo(NumpyUInt8.SelectMany(r => r).ToArray()));
        Assert.That(int8.Values.ToArray(), Is.EqualTo(NumpyInt8.SelectMany(r => r).ToArray()));
        Assert.That(int8.Row(3).ToArray(), Is.EqualTo(NumpyInt8[3]));
    }

    [Test]
    public void Out_of_range_values_saturate_where_numpy_would_wrap()
    {
        // Range [0, 1]: u = x · 255 in float32 (1 itself gives 254.99998). numpy gives uint8 [6, 0, 0, 63, 127, 254, 254, 255, 155]
        // and int8 [-122, -128, -128, -64, 0, 126, 126, 127, 27]: identical except the wrapped -5 and 100.
        var ranges = new QuantizationRanges([0f], [1f]);
        var values = EmbeddingMatrix.FromFlat(new[] { -5f, -0.001f, 0f, 0.25f, 0.5f, 0.999f, 1f, 1.001f, 100f }, 1);

        Assert.That(ScalarQuantization.QuantizeUInt8(values, ranges).Values.ToArray(), Is.EqualTo(new byte[] { 0, 0, 0, 63, 127, 254, 254, 255, 255 }));
        Assert.That(ScalarQuantization.QuantizeInt8(values, ranges).Values.ToArray(), Is.EqualTo(new sbyte[] { -128, -128, -128, -64, 0, 126, 126, 127, 127 }));
    }

    [Test]
    public void Int8_truncates_toward_zero_so_it_is_not_uint8_minus_128()
    {
        // step = 1, so u = x exactly.
        var ranges = new QuantizationRanges([0f], [255f]);
        var values = EmbeddingMatrix.FromFlat(new[] { 0f, 0.5f, 1f, 126.9f, 127.5f, 128f, 128.5f, 129f, 254.9f, 255f }, 1);

        Assert.That(ScalarQuantization.QuantizeUInt8(values, ranges).Values.ToArray(), Is.EqualTo(new byte[] { 0, 0, 1, 126, 127, 128, 128, 129, 254, 255 }));
        Assert.That(ScalarQuantization.QuantizeInt8(values, ranges).Values.ToArray(), Is.EqualTo(new sbyte[] { -128, -127, -127, -1, 0, 0, 0, 1, 126, 127 }));
    }

    [Test]
    public void A_single_value_range_maps_to_the_lowest_or_highest_code()
    {
        var ranges = new QuantizationRanges([2f, 0f], [2f, 1f]);
        var values = EmbeddingMatrix.FromFlat(new[] { 1f, 0.5f, 2f, 0.5f, 3f, 0.5f }, 2);

        Assert.That(ScalarQuantization.QuantizeUInt8(values, ranges).Values.ToArray(), Is.EqualTo(new byte[] { 0, 127, 0, 127, 255, 127 }));
        Assert.That(ScalarQuantization.QuantizeInt8(values, ranges).Values.ToArray(), Is.EqualTo(new sbyte[] { -128, 0, -128, 0, 127, 0 }));
    }

    [Test]
    public void Quantize_validates_its_arguments()
    {
        var ranges = new QuantizationRanges([0f, 0f], [1f, 1f]);
        var threeWide = EmbeddingMatrix.FromFlat(new float[3], 3);
        Assert.That(
            () => ScalarQuantization.QuantizeInt8(threeWide, ranges),
            Throws.ArgumentException.With.Message.Contains("3 dimensions").And.Message.Contains("have 2"));
        Assert.That(() => ScalarQuantization.QuantizeUInt8(threeWide, ranges), Throws.ArgumentException);
        Assert.That(() => ScalarQuantization.QuantizeInt8(null!, ranges), Throws.ArgumentNullException);
        Assert.That(() => ScalarQuantization.QuantizeUInt8(threeWide, null!), Throws.ArgumentNullException);

        var none = ScalarQuantization.QuantizeInt8(EmbeddingMatrix.FromRows(Array.Empty<float[]>()), ranges);
        Assert.That((none.RowCount, none.Dimensions), Is.EqualTo((0, 2)));
    }

    [Test]
    public void Matrix_constructor_validates()
    {
        var ranges = new QuantizationRanges([0f, 0f], [1f, 1f]);
        Assert.That(() => new ScalarQuantizedMatrix<short>(new short[2], ranges), Throws.InstanceOf<NotSupportedException>());
        Assert.That(() => new ScalarQuantizedMatrix<byte>(new byte[3], ranges), Throws.ArgumentException.With.Message.Contains("multiple"));
        Assert.That(() => new ScalarQuantizedMatrix<byte>(new byte[2], null!), Throws.ArgumentNullException);

        var wide = new QuantizationRanges(new float[33026], Enumerable.Repeat(1f, 33026).ToArray());
        Assert.That(() => new ScalarQuantizedMatrix<byte>(ReadOnlyMemory<byte>.Empty, wide), Throws.ArgumentException.With.Message.Contains("33025"));
        Assert.That(new ScalarQuantizedMatrix<sbyte>(ReadOnlyMemory<sbyte>.Empty, wide).Dimensions, Is.EqualTo(33026));
        Assert.That(ScalarQuantizedMatrix<sbyte>.MaxDimensions, Is.EqualTo(131071));
        Assert.That(ScalarQuantizedMatrix<byte>.MaxDimensions, Is.EqualTo(33025));

        var matrix = new ScalarQuantizedMatrix<sbyte>(new sbyte[] { 1, 2, 3, 4 }, ranges);
        Assert.That(matrix.Row(1).ToArray(), Is.EqualTo(new sbyte[] { 3, 4 }));
        Assert.That(() => matrix.Row(2).Length, Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void Dequantize_then_quantize_gives_the_same_codes_and_stays_within_a_step()
    {
        var gen = Gen.Select(Gen.Int[1, 40], Gen.Int[1, 6], Gen.Int);
        gen.Sample((dimensions, rows, seed) =>
        {
            var random = new Random(seed);
            float[] starts = Enumerable.Range(0, dimensions).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            float[] widths = Enumerable.Range(0, dimensions).Select(_ => (float)(0.01 + random.NextDouble() * 2)).ToArray();
            var ranges = new QuantizationRanges(starts, starts.Zip(widths, (s, w) => s + w).ToArray());
            float[] values = new float[rows * dimensions];
            for (int i = 0; i < values.Length; i++)
            {
                int d = i % dimensions;
                values[i] = Math.Min(ranges.Maximums[d], starts[d] + (float)(random.NextDouble() * widths[d]));
            }

            var embeddings = EmbeddingMatrix.FromFlat(values, dimensions);
            var int8 = ScalarQuantization.QuantizeInt8(embeddings, ranges);
            var uint8 = ScalarQuantization.QuantizeUInt8(embeddings, ranges);
            var int8Back = ScalarQuantization.Dequantize(int8);
            var uint8Back = ScalarQuantization.Dequantize(uint8);
            for (int i = 0; i < values.Length; i++)
            {
                int d = i % dimensions;
                float step = (ranges.Maximums[d] - ranges.Minimums[d]) / 255f;
                // uint8 buckets are one step wide (error ≤ ½ step); int8's 0 code spans two steps (error ≤ 1 step).
                if (Math.Abs(uint8Back.Values.Span[i] - values[i]) > (0.5f * step) + 1e-6f
                    || Math.Abs(int8Back.Values.Span[i] - values[i]) > step + 1e-6f)
                {
                    return false;
                }
            }

            return ScalarQuantization.QuantizeInt8(int8Back, ranges).Values.Span.SequenceEqual(int8.Values.Span)
                && ScalarQuantization.QuantizeUInt8(uint8Back, ranges).Values.Span.SequenceEqual(uint8.Values.Span);
        });
    }

    [Test]
    public void Dequantize_maps_every_code_to_the_centre_of_its_interval()
    {
        // step = 1 and start = 0, so the dequantized value is u itself.
        var ranges = new QuantizationRanges([0f], [255f]);
        var int8 = new ScalarQuantizedMatrix<sbyte>(new sbyte[] { -128, -127, -1, 0, 1, 126, 127 }, ranges);
        var uint8 = new ScalarQuantizedMatrix<byte>(new byte[] { 0, 1, 128, 254, 255 }, ranges);
        Assert.That(ScalarQuantization.Dequantize(int8).Values.ToArray(), Is.EqualTo(new[] { 0f, 0.5f, 126.5f, 128f, 129.5f, 254.5f, 255f }));
        Assert.That(ScalarQuantization.Dequantize(uint8).Values.ToArray(), Is.EqualTo(new[] { 0.5f, 1.5f, 128.5f, 254.5f, 255f }));
    }

    [Test]
    public void Dot_products_hand_worked()
    {
        Assert.That(ScalarQuantization.DotProduct(new sbyte[] { 1, -2, 3 }, new sbyte[] { -4, 5, 6 }), Is.EqualTo(-4 - 10 + 18));
        Assert.That(ScalarQuantization.DotProduct(new byte[] { 1, 2, 255 }, new byte[] { 4, 5, 255 }), Is.EqualTo(4 + 10 + 65025));
        Assert.That(ScalarQuantization.DotProduct(ReadOnlySpan<sbyte>.Empty, ReadOnlySpan<sbyte>.Empty), Is.Zero);
    }

    [Test]
    public void Dot_products_match_brute_force_for_every_length_around_the_vector_width()
    {
        var random = new Random(3);
        for (int length = 0; length <= 100; length++)
        {
            sbyte[] a = Enumerable.Range(0, length).Select(_ => (sbyte)random.Next(-128, 128)).ToArray();
            sbyte[] b = Enumerable.Range(0, length).Select(_ => (sbyte)random.Next(-128, 128)).ToArray();
            byte[] c = Enumerable.Range(0, length).Select(_ => (byte)random.Next(256)).ToArray();
            byte[] d = Enumerable.Range(0, length).Select(_ => (byte)random.Next(256)).ToArray();
            Assert.That(ScalarQuantization.DotProduct(a, b), Is.EqualTo(a.Zip(b, (x, y) => x * y).Sum()), $"int8 length {length}");
            Assert.That(ScalarQuantization.DotProduct(c, d), Is.EqualTo(c.Zip(d, (x, y) => x * y).Sum()), $"uint8 length {length}");
        }
    }

    [Test]
    public void Dot_products_at_the_largest_allowed_length_do_not_overflow()
    {
        sbyte[] int8 = Enumerable.Repeat((sbyte)-128, ScalarQuantizedMatrix<sbyte>.MaxDimensions).ToArray();
        Assert.That(ScalarQuantization.DotProduct(int8, int8), Is.EqualTo(16384L * 131071));
        byte[] uint8 = Enumerable.Repeat((byte)255, ScalarQuantizedMatrix<byte>.MaxDimensions).ToArray();
        Assert.That(ScalarQuantization.DotProduct(uint8, uint8), Is.EqualTo(65025L * 33025));

        Assert.That(() => ScalarQuantization.DotProduct(new byte[33026], new byte[33026]), Throws.ArgumentException.With.Message.Contains("33025"));
        Assert.That(() => ScalarQuantization.DotProduct(new sbyte[3], new sbyte[2]), Throws.ArgumentException.With.Message.Contains("3 and 2"));
    }

    [TestCase(1, 10, 8, 3)]
    [TestCase(9, 300, 33, 10)]
    [TestCase(70, 500, 64, 5)]
    [TestCase(2, 8000, 520, 20)]
    public void TopK_matches_brute_force(int queryCount, int corpusCount, int dimensions, int k)
    {
        var random = new Random(queryCount + corpusCount);
        var corpus = ScoreMatrixAndTopKTests.RandomMatrix(random, corpusCount, dimensions);
        var queries = ScoreMatrixAndTopKTests.RandomMatrix(random, queryCount, dimensions);
        var ranges = QuantizationRanges.Calibrate(corpus);
        foreach (bool signed in new[] { true, false })
        {
            SearchHit<int>[][] hits;
            Func<int, int, int> dot;
            if (signed)
            {
                var q = ScalarQuantization.QuantizeInt8(queries, ranges);
                var c = ScalarQuantization.QuantizeInt8(corpus, ranges);
                hits = ScalarQuantization.TopK(q, c, k);
                dot = (i, j) => q.Row(i).ToArray().Zip(c.Row(j).ToArray(), (x, y) => x * y).Sum();
            }
            else
            {
                var q = ScalarQuantization.QuantizeUInt8(queries, ranges);
                var c = ScalarQuantization.QuantizeUInt8(corpus, ranges);
                hits = ScalarQuantization.TopK(q, c, k);
                dot = (i, j) => q.Row(i).ToArray().Zip(c.Row(j).ToArray(), (x, y) => x * y).Sum();
            }

            for (int i = 0; i < queryCount; i++)
            {
                var expected = ScoreMatrixAndTopKTests.BruteForceTopK(Enumerable.Range(0, corpusCount).Select(j => dot(i, j)), k);
                Assert.That(hits[i].Select(h => (h.Index, h.Score)), Is.EqualTo(expected), $"{(signed ? "int8" : "uint8")} query {i}");
            }
        }
    }

    [Test]
    public void TopK_breaks_ties_by_lower_index_and_handles_small_corpora()
    {
        var ranges = new QuantizationRanges([0f, 0f], [1f, 1f]);
        var corpus = new ScalarQuantizedMatrix<sbyte>(new sbyte[] { 1, 1, 2, 0, 0, 2, 1, 1, -5, 0 }, ranges);
        var queries = new ScalarQuantizedMatrix<sbyte>(new sbyte[] { 1, 1 }, ranges);
        SearchHit<int>[] hits = ScalarQuantization.TopK(queries, corpus, 10)[0];
        Assert.That(hits, Is.EqualTo(new SearchHit<int>[] { new(0, 2), new(1, 2), new(2, 2), new(3, 2), new(4, -5) }));

        var empty = new ScalarQuantizedMatrix<sbyte>(ReadOnlyMemory<sbyte>.Empty, ranges);
        Assert.That(ScalarQuantization.TopK(queries, empty, 3), Has.Length.EqualTo(1).And.All.Empty);
        Assert.That(ScalarQuantization.TopK(empty, corpus, 3), Is.Empty);
    }

    [Test]
    public void TopK_rejects_codes_from_different_calibrations()
    {
        var corpus = new ScalarQuantizedMatrix<byte>(new byte[4], new QuantizationRanges([0f, 0f], [1f, 1f]));
        var otherRanges = new ScalarQuantizedMatrix<byte>(new byte[2], new QuantizationRanges([0f, 0f], [1f, 2f]));
        var equalRanges = new ScalarQuantizedMatrix<byte>(new byte[2], new QuantizationRanges([0f, 0f], [1f, 1f]));
        var otherWidth = new ScalarQuantizedMatrix<byte>(new byte[3], new QuantizationRanges([0f, 0f, 0f], [1f, 1f, 1f]));

        Assert.That(() => ScalarQuantization.TopK(otherRanges, corpus, 1), Throws.ArgumentException.With.Message.Contains("different ranges"));
        Assert.That(() => ScalarQuantization.TopK(otherWidth, corpus, 1), Throws.ArgumentException.With.Message.Contains("3 dimensions"));
        Assert.That(() => ScalarQuantization.TopK(equalRanges, corpus, 0), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(ScalarQuantization.TopK(equalRanges, corpus, 1)[0], Has.Length.EqualTo(1));
    }
}
