using static TorchSharp.torch;

namespace LastTokenEmbeddings.Tests.Modeling;

/// <summary>Padding on either side gives every text the outputs it gets alone.</summary>
public class PaddedBatchTests
{
    private const double Tolerance = 1e-4;

    // The 420-token passage (index 10) with short texts: far past the sliding window, lots of padding.
    private static readonly int[] Mixed = [10, 0, 3, 7];

    // Texts that all fit in the window of 24: right padding then takes the unmasked causal path.
    private static readonly int[] Short = [0, 4, 5, 6];

    [TestCase(true, "raw")]
    [TestCase(false, "raw")]
    [TestCase(true, "chat")]
    [TestCase(false, "e5")]
    public void Batched_outputs_equal_one_text_at_a_time(bool leftPadding, string mode) => AssertBatchMatches(Mixed, leftPadding, mode);

    [TestCase(true, "raw")]
    [TestCase(false, "raw")]
    [TestCase(false, "chat")]
    public void Short_texts_batched_within_the_window_equal_one_text_at_a_time(bool leftPadding, string mode) => AssertBatchMatches(Short, leftPadding, mode);

    private static void AssertBatchMatches(int[] Mixed, bool leftPadding, string mode)
    {
        using var scope = NewDisposeScope();
        var model = SharedModel.Float32;
        var sequences = Mixed.Select(i => ReferenceData.Ids(mode, i)).ToArray();
        var length = sequences.Max(s => s.Length);
        var ids = zeros(sequences.Length, length, dtype: ScalarType.Int64);
        var mask = zeros(sequences.Length, length, dtype: ScalarType.Int64);
        for (var row = 0; row < sequences.Length; row++)
        {
            var start = leftPadding ? length - sequences[row].Length : 0;
            ids[row, TensorIndex.Slice(start, start + sequences[row].Length)] = tensor(sequences[row]);
            mask[row, TensorIndex.Slice(start, start + sequences[row].Length)] = 1;
        }

        var hidden = model.Model.forward(ids, mask);
        for (var row = 0; row < sequences.Length; row++)
        {
            var start = leftPadding ? length - sequences[row].Length : 0;
            var real = hidden[row, TensorIndex.Slice(start, start + sequences[row].Length)];
            var expected = ReferenceData.Tensor($"float32/{mode}/{Mixed[row]}/last_hidden_state");
            Assert.That(ReferenceData.MaxAbsDiff(real, expected), Is.LessThanOrEqualTo(Tolerance), $"text {Mixed[row]}");
            Assert.That(real.isfinite().all().item<bool>(), Is.True);

            var lastLogits = model.ComputeLogits(real[-1]);
            Assert.That(ReferenceData.MaxAbsDiff(lastLogits, ReferenceData.Tensor($"float32/{mode}/{Mixed[row]}/logits_last")),
                Is.LessThanOrEqualTo(Tolerance), $"logits of text {Mixed[row]}");
        }
        Assert.That(hidden.isfinite().all().item<bool>(), Is.True, "padding rows must stay finite");
    }
}

/// <summary>Several texts packed into one row, kept apart by sequence labels, give the outputs they get alone.</summary>
public class PackedRowTests
{
    [TestCase("raw")]
    [TestCase("chat")]
    [TestCase("e5")]
    public void Packed_sequences_equal_one_text_at_a_time(string mode)
    {
        using var scope = NewDisposeScope();
        var model = SharedModel.Float32;
        int[][] rows = [[0, 4, 5], [6, 1, 2, 3]]; // chat and e5 rows run past the window of 24
        var sequences = rows.Select(row => row.Select(i => ReferenceData.Ids(mode, i)).ToArray()).ToArray();
        var length = sequences.Max(row => row.Sum(s => s.Length)) + 3; // trailing padding too
        var ids = zeros(rows.Length, length, dtype: ScalarType.Int64);
        var labels = zeros(rows.Length, length, dtype: ScalarType.Int64);
        for (var r = 0; r < rows.Length; r++)
        {
            var offset = 0;
            for (var k = 0; k < rows[r].Length; k++)
            {
                var span = TensorIndex.Slice(offset, offset + sequences[r][k].Length);
                ids[r, span] = tensor(sequences[r][k]);
                labels[r, span] = k + 1;
                offset += sequences[r][k].Length;
            }
        }

        var hidden = model.Model.forward(ids, labels);
        for (var r = 0; r < rows.Length; r++)
        {
            var offset = 0;
            for (var k = 0; k < rows[r].Length; k++)
            {
                var real = hidden[r, TensorIndex.Slice(offset, offset + sequences[r][k].Length)];
                var expected = ReferenceData.Tensor($"float32/{mode}/{rows[r][k]}/last_hidden_state");
                Assert.That(ReferenceData.MaxAbsDiff(real, expected), Is.LessThanOrEqualTo(1e-4), $"text {rows[r][k]}");
                offset += sequences[r][k].Length;
            }
        }
        Assert.That(hidden.isfinite().all().item<bool>(), Is.True);
    }
}
