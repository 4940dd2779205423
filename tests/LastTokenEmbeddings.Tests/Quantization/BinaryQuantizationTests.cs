using System.Collections;
using System.Text.Json;
using CsCheck;
using LastTokenEmbeddings.Quantization;
using LastTokenEmbeddings.Similarity;
using LastTokenEmbeddings.Tests.Similarity;
using Microsoft.Extensions.AI;

namespace LastTokenEmbeddings.Tests.Quantization;

public class BinaryQuantizationTests
{
    // Three 10-dimensional embeddings (10 is not a multiple of 8) with an exact 0 and a -0, which are not > 0.
    // numpy: np.packbits(x > 0, axis=-1) = [[9, 0], [91, 64], [181, 128]];
    // sentence-transformers' "binary" precision is that minus 128 as int8: [[-119, -128], [-37, -64], [53, 0]].
    private static readonly float[][] NumpyEmbeddings =
    [
        [-1.5301358f, -0.47775328f, -0.9785191f, 0f, 1.0608987f, -0.8075347f, -0.032521706f, 0.8843899f, -0.58360046f, -0.11170195f],
        [-0f, 0.06378178f, -1.2250558f, 0.07614023f, 1.3588234f, -1.5471447f, 0.8593827f, 0.11935402f, -0.64147037f, 2.0004165f],
        [0.7622597f, -1.1992888f, 0.07451623f, 0.5766896f, -0.18878213f, 0.68291026f, -0.06651732f, 0.66724753f, 1.4385226f, -0.6756623f],
    ];

    private static int BruteForceHamming(BinaryQuantizedMatrix a, int i, BinaryQuantizedMatrix b, int j) =>
        Enumerable.Range(0, a.Dimensions).Count(d => a.Bit(i, d) != b.Bit(j, d));

    [Test]
    public void Packing_matches_numpy_packbits_most_significant_bit_first()
    {
        var packed = BinaryQuantization.Quantize(EmbeddingMatrix.FromRows(NumpyEmbeddings));

        Assert.That((packed.RowCount, packed.Dimensions, packed.BytesPerRow), Is.EqualTo((3, 10, 2)));
        Assert.That(packed.Values.ToArray(), Is.EqualTo(new byte[] { 9, 0, 91, 64, 181, 128 }));
        Assert.That(packed.Row(1).ToArray(), Is.EqualTo(new byte[] { 91, 64 }));
        Assert.That(packed.Values.ToArray().Select(b => (sbyte)(b - 128)), Is.EqualTo(new sbyte[] { -119, -128, -37, -64, 53, 0 }), "sentence-transformers' binary");
        for (int i = 0; i < 3; i++)
        {
            for (int d = 0; d < 10; d++)
            {
                Assert.That(packed.Bit(i, d), Is.EqualTo(NumpyEmbeddings[i][d] > 0), $"[{i},{d}]");
            }
        }
    }

    [Test]
    public void Every_bit_is_the_sign_test_of_its_element_for_any_dimensions()
    {
        // Exercises the 8-at-a-time packing and the scalar tail, with exact zeros mixed in.
        Gen.Select(Gen.Int[1, 70], Gen.Int[1, 4], Gen.Int).Sample((dimensions, rows, seed) =>
        {
            var random = new Random(seed);
            float[] values = Enumerable.Range(0, rows * dimensions).Select(_ => (float)random.Next(-2, 3) * 0.5f).ToArray();
            var packed = BinaryQuantization.Quantize(EmbeddingMatrix.FromFlat(values, dimensions));
            return packed.BytesPerRow == (dimensions + 7) / 8
                && Enumerable.Range(0, values.Length).All(i => packed.Bit(i / dimensions, i % dimensions) == values[i] > 0)
                && Enumerable.Range(0, rows).All(i => (packed.Row(i)[^1] & ((1 << ((8 - (dimensions % 8)) % 8)) - 1)) == 0);
        });
    }

    [Test]
    public void Matrix_constructor_validates()
    {
        Assert.That(new BinaryQuantizedMatrix(new byte[] { 0b1100_0000, 0b0100_0000 }, 2).RowCount, Is.EqualTo(2));
        Assert.That(
            () => new BinaryQuantizedMatrix(new byte[] { 0b1100_0000, 0b0110_0000 }, 2),
            Throws.ArgumentException.With.Message.Contains("Row 1's padding bits"));
        Assert.That(() => new BinaryQuantizedMatrix(new byte[3], 10), Throws.ArgumentException.With.Message.Contains("2 bytes"));
        Assert.That(() => new BinaryQuantizedMatrix(new byte[3], 0), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(new BinaryQuantizedMatrix(new byte[] { 0xFF, 0xFF }, 16).RowCount, Is.EqualTo(1));
        var matrix = new BinaryQuantizedMatrix(new byte[] { 0x80 }, 1);
        Assert.That(() => matrix.Bit(0, 1), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => matrix.Row(1).Length, Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => BinaryQuantization.Quantize(EmbeddingMatrix.FromRows(Array.Empty<float[]>())), Throws.ArgumentException);
        Assert.That(BinaryQuantization.Quantize(EmbeddingMatrix.FromFlat(ReadOnlyMemory<float>.Empty, 9)).BytesPerRow, Is.EqualTo(2));
    }

    [Test]
    public void Hamming_distance_hand_worked()
    {
        Assert.That(BinaryQuantization.HammingDistance(new byte[] { 0b1010_1010 }, new byte[] { 0b0101_0101 }), Is.EqualTo(8));
        Assert.That(BinaryQuantization.HammingDistance(new byte[] { 0xF0, 0x01 }, new byte[] { 0xF0, 0x03 }), Is.EqualTo(1));
        Assert.That(BinaryQuantization.HammingDistance(ReadOnlySpan<byte>.Empty, ReadOnlySpan<byte>.Empty), Is.Zero);
        Assert.That(() => BinaryQuantization.HammingDistance(new byte[2], new byte[1]), Throws.ArgumentException.With.Message.Contains("2 and 1"));
    }

    [Test]
    public void Hamming_distance_matches_a_bit_by_bit_count_for_any_length()
    {
        Gen.Int[0, 40].SelectMany(n => Gen.Select(Gen.Byte.Array[n], Gen.Byte.Array[n])).Sample((a, b) =>
        {
            int expected = 0;
            for (int i = 0; i < a.Length; i++)
            {
                for (int bit = 0; bit < 8; bit++)
                {
                    expected += ((a[i] >> bit) & 1) != ((b[i] >> bit) & 1) ? 1 : 0;
                }
            }

            return BinaryQuantization.HammingDistance(a, b) == expected;
        });
    }

    [TestCase(1, 20, 10, 5)]
    [TestCase(5, 700, 100, 10)]
    [TestCase(70, 300, 64, 8)]
    [TestCase(2, 30000, 1024, 15)]
    public void TopK_matches_brute_force_Hamming_ascending_ties_by_index(int queryCount, int corpusCount, int dimensions, int k)
    {
        var random = new Random(corpusCount + dimensions);
        var queries = BinaryQuantization.Quantize(ScoreMatrixAndTopKTests.RandomMatrix(random, queryCount, dimensions));
        var corpus = BinaryQuantization.Quantize(ScoreMatrixAndTopKTests.RandomMatrix(random, corpusCount, dimensions));

        SearchHit<int>[][] hits = BinaryQuantization.TopK(queries, corpus, k);

        for (int q = 0; q < queryCount; q++)
        {
            var distances = Enumerable.Range(0, corpusCount).Select(j => BinaryQuantization.HammingDistance(queries.Row(q), corpus.Row(j)));
            var expected = ScoreMatrixAndTopKTests.BruteForceTopK(distances, k, ascending: true);
            Assert.That(hits[q].Select(h => (h.Index, h.Score)), Is.EqualTo(expected), $"query {q}");
        }

        // The packed-word kernel against a bit-by-bit count, on a few pairs.
        for (int j = 0; j < Math.Min(corpusCount, 20); j++)
        {
            Assert.That(BinaryQuantization.HammingDistance(queries.Row(0), corpus.Row(j)), Is.EqualTo(BruteForceHamming(queries, 0, corpus, j)));
        }
    }

    [Test]
    public void TopK_edge_cases()
    {
        var corpus = new BinaryQuantizedMatrix(new byte[] { 0b1000_0000, 0b0000_0000, 0b1000_0000 }, 1);
        var queries = new BinaryQuantizedMatrix(new byte[] { 0b1000_0000 }, 1);
        Assert.That(BinaryQuantization.TopK(queries, corpus, 5)[0], Is.EqualTo(new SearchHit<int>[] { new(0, 0), new(2, 0), new(1, 1) }));
        Assert.That(BinaryQuantization.TopK(queries, new BinaryQuantizedMatrix(ReadOnlyMemory<byte>.Empty, 1), 5)[0], Is.Empty);
        Assert.That(
            () => BinaryQuantization.TopK(queries, new BinaryQuantizedMatrix(new byte[1], 2), 1),
            Throws.ArgumentException.With.Message.Contains("1 dimensions but the corpus has 2"));
        Assert.That(() => BinaryQuantization.TopK(queries, corpus, 0), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void BinaryEmbedding_holds_dimension_i_at_index_i()
    {
        var packed = BinaryQuantization.Quantize(EmbeddingMatrix.FromRows(NumpyEmbeddings));
        BinaryEmbedding embedding = packed.ToBinaryEmbedding(1);

        Assert.That(embedding.Dimensions, Is.EqualTo(10));
        Assert.That(Enumerable.Range(0, 10).Select(d => embedding.Vector[d]), Is.EqualTo(NumpyEmbeddings[1].Select(x => x > 0)));
        // Its JSON form is the bits in dimension order.
        string json = JsonSerializer.Serialize(embedding, AIJsonUtilities.DefaultOptions);
        Assert.That(JsonDocument.Parse(json).RootElement.GetProperty("vector").GetString(), Is.EqualTo("0101101101"));
        // BitArray's own byte constructor reads least significant bit first: not this layout.
        Assert.That(new BitArray(packed.Row(1).ToArray())[0], Is.True, "byte 91 = 0b0101_1011 has its lowest bit set");
        Assert.That(embedding.Vector[0], Is.False);
    }

    [Test]
    public void BinaryEmbeddings_round_trip()
    {
        var packed = BinaryQuantization.Quantize(EmbeddingMatrix.FromRows(NumpyEmbeddings));
        var embeddings = Enumerable.Range(0, 3).Select(packed.ToBinaryEmbedding).ToArray();
        var back = BinaryQuantizedMatrix.FromBinaryEmbeddings(embeddings);
        Assert.That((back.Dimensions, back.RowCount), Is.EqualTo((10, 3)));
        Assert.That(back.Values.ToArray(), Is.EqualTo(packed.Values.ToArray()));

        Assert.That(() => BinaryQuantizedMatrix.FromBinaryEmbeddings([]), Throws.ArgumentException);
        Assert.That(
            () => BinaryQuantizedMatrix.FromBinaryEmbeddings([embeddings[0], new BinaryEmbedding(new BitArray(9))]),
            Throws.ArgumentException.With.Message.Contains("Embedding 1 has 9 dimensions, expected 10"));
        Assert.That(() => BinaryQuantizedMatrix.FromBinaryEmbeddings([new BinaryEmbedding(new BitArray(0))]), Throws.ArgumentException.With.Message.Contains("empty"));
        Assert.That(() => BinaryQuantizedMatrix.FromBinaryEmbeddings([embeddings[0], null!]), Throws.ArgumentException.With.Message.Contains("null"));
    }

    [Test]
    public void Rescoring_with_every_row_as_a_candidate_is_exact_float_search()
    {
        var random = new Random(21);
        var corpus = ScoreMatrixAndTopKTests.RandomMatrix(random, 50, 24);
        var queries = ScoreMatrixAndTopKTests.RandomMatrix(random, 6, 24);
        var packed = BinaryQuantization.Quantize(corpus);

        // k × multiplier ≥ corpus size: every row is rescored.
        SearchHit<float>[][] rescored = BinaryQuantization.TopKRescored(queries, packed, corpus, k: 5, candidateMultiplier: 10);
        SearchHit<float>[][] exact = CosineSimilarity.TopK(queries, corpus, 5);
        for (int q = 0; q < 6; q++)
        {
            Assert.That(rescored[q].Select(h => h.Index), Is.EqualTo(exact[q].Select(h => h.Index)), $"query {q}");
            Assert.That(rescored[q].Select(h => h.Score), Is.EqualTo(exact[q].Select(h => h.Score)).Within(1e-6f));
        }
    }

    [Test]
    public void Rescoring_re_ranks_only_the_binary_candidates()
    {
        var random = new Random(8);
        var corpus = ScoreMatrixAndTopKTests.RandomMatrix(random, 400, 32);
        var queries = ScoreMatrixAndTopKTests.RandomMatrix(random, 5, 32);
        var packed = BinaryQuantization.Quantize(corpus);
        var packedQueries = BinaryQuantization.Quantize(queries);

        SearchHit<float>[][] rescored = BinaryQuantization.TopKRescored(queries, packed, corpus, k: 4, candidateMultiplier: 3);
        SearchHit<int>[][] candidates = BinaryQuantization.TopK(packedQueries, packed, 12);
        float[,] cosines = CosineSimilarity.Matrix(queries, corpus);
        for (int q = 0; q < 5; q++)
        {
            var expected = candidates[q].Select(c => (c.Index, Score: cosines[q, c.Index]))
                .OrderByDescending(p => p.Score).ThenBy(p => p.Index).Take(4).ToArray();
            Assert.That(rescored[q].Select(h => h.Index), Is.EqualTo(expected.Select(p => p.Index)), $"query {q}");
            Assert.That(rescored[q].Select(h => h.Score), Is.EqualTo(expected.Select(p => p.Score)).Within(1e-6f));
        }
    }

    [Test]
    public void Rescoring_with_scalar_codes_scores_the_dequantized_rows()
    {
        var random = new Random(13);
        var corpus = ScoreMatrixAndTopKTests.RandomMatrix(random, 300, 40);
        var queries = ScoreMatrixAndTopKTests.RandomMatrix(random, 4, 40);
        var ranges = QuantizationRanges.Calibrate(corpus);
        var int8 = ScalarQuantization.QuantizeInt8(corpus, ranges);
        var uint8 = ScalarQuantization.QuantizeUInt8(corpus, ranges);
        var packed = BinaryQuantization.Quantize(corpus);

        foreach (var (rescored, approximation) in new[]
        {
            (BinaryQuantization.TopKRescored(queries, packed, int8, k: 6, candidateMultiplier: 4), ScalarQuantization.Dequantize(int8)),
            (BinaryQuantization.TopKRescored(queries, packed, uint8, k: 6, candidateMultiplier: 4), ScalarQuantization.Dequantize(uint8)),
        })
        {
            SearchHit<int>[][] candidates = BinaryQuantization.TopK(BinaryQuantization.Quantize(queries), packed, 24);
            float[,] cosines = CosineSimilarity.Matrix(queries, approximation);
            for (int q = 0; q < 4; q++)
            {
                var expected = candidates[q].Select(c => (c.Index, Score: cosines[q, c.Index]))
                    .OrderByDescending(p => p.Score).ThenBy(p => p.Index).Take(6).ToArray();
                Assert.That(rescored[q].Select(h => h.Score), Is.EqualTo(expected.Select(p => p.Score)).Within(1e-5f), $"query {q}");
                Assert.That(rescored[q].Select(h => h.Index).ToHashSet().SetEquals(expected.Select(p => p.Index)), Is.True, $"query {q}");
            }
        }
    }

    [Test]
    public void Rescoring_validates_its_arguments()
    {
        var corpus = EmbeddingMatrix.FromFlat(new float[] { 1, -1, 1, 1 }, 2);
        var packed = BinaryQuantization.Quantize(corpus);
        var queries = EmbeddingMatrix.FromFlat(new float[] { 1, 0 }, 2);
        var ranges = QuantizationRanges.Calibrate(corpus);

        Assert.That(
            () => BinaryQuantization.TopKRescored(queries, packed, EmbeddingMatrix.FromFlat(new float[] { 1, 1 }, 2), 1),
            Throws.ArgumentException.With.Message.Contains("1 rows but the binary corpus has 2"));
        Assert.That(
            () => BinaryQuantization.TopKRescored(queries, packed, EmbeddingMatrix.FromFlat(new float[6], 3), 1),
            Throws.ArgumentException.With.Message.Contains("3 dimensions"));
        Assert.That(
            () => BinaryQuantization.TopKRescored(EmbeddingMatrix.FromFlat(new float[3], 3), packed, corpus, 1),
            Throws.ArgumentException.With.Message.Contains("queries have 3 dimensions"));
        Assert.That(() => BinaryQuantization.TopKRescored(queries, packed, corpus, 1, candidateMultiplier: 0), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => BinaryQuantization.TopKRescored(queries, packed, corpus, 0), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => BinaryQuantization.TopKRescored(queries, packed, (ScalarQuantizedMatrix<sbyte>)null!, 1), Throws.ArgumentNullException);
        Assert.That(BinaryQuantization.TopKRescored(queries, packed, ScalarQuantization.QuantizeInt8(corpus, ranges), 5)[0], Has.Length.EqualTo(2));
        Assert.That(BinaryQuantization.TopKRescored(EmbeddingMatrix.FromFlat(ReadOnlyMemory<float>.Empty, 2), packed, corpus, 5), Is.Empty);
        Assert.That(BinaryQuantization.TopKRescored(queries, packed, corpus, int.MaxValue, int.MaxValue)[0], Has.Length.EqualTo(2), "k × multiplier saturates");
    }
}
