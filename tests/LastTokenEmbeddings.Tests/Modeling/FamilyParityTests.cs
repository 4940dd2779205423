using static TorchSharp.torch;

namespace LastTokenEmbeddings.Tests.Modeling;

/// <summary>
/// Qwen3, Qwen2 (q/k/v biases, a disabled sliding window, extra embedding rows), Llama and Llama with llama3 rope
/// scaling: the float32 forward pass reproduces every reference tensor, alone, padded on either side, and packed.
/// </summary>
public class FamilyParityTests
{
    private const double Tolerance = 1e-4;

    private static IEnumerable<TestCaseData> Inputs() =>
        FixtureReference.NewFamilies.SelectMany(name => FixtureReference.Get(name).AllInputs()
            .Select(input => new TestCaseData(name, input.Mode, input.Index).SetName($"{name}/{input.Mode}/{input.Index}")));

    [TestCaseSource(nameof(Inputs))]
    public void Final_hidden_states_and_last_logits_match_the_reference(string fixture, string mode, int index)
    {
        using var scope = NewDisposeScope();
        var reference = FixtureReference.Get(fixture);
        var model = reference.Float32;
        var ids = tensor(reference.Ids(mode, index)).unsqueeze(0);
        var hidden = model.Model.forward(ids, ones_like(ids));
        Assert.That(ReferenceData.MaxAbsDiff(hidden[0], reference.Tensor($"float32/{mode}/{index}/last_hidden_state")),
            Is.LessThanOrEqualTo(Tolerance), "last_hidden_state");
        var logitsKey = $"float32/{mode}/{index}/logits_last";
        if (reference.Has(logitsKey))
            Assert.That(ReferenceData.MaxAbsDiff(model.ComputeLogits(hidden[0, -1]), reference.Tensor(logitsKey)), Is.LessThanOrEqualTo(Tolerance), "logits_last");
    }

    [Test]
    public void Every_family_fixture_loads_as_its_family()
    {
        Assert.Multiple(() =>
        {
            Assert.That(FixtureReference.Get("tiny-qwen3").Float32.Config.QkNorm, Is.True);
            Assert.That(FixtureReference.Get("tiny-qwen3").Float32.Config.TieWordEmbeddings, Is.True);
            Assert.That(FixtureReference.Get("tiny-qwen2").Float32.Config.AttentionQkvBias, Is.True);
            Assert.That(FixtureReference.Get("tiny-qwen2").Float32.Config.AttentionOutputBias, Is.False);
            Assert.That(FixtureReference.Get("tiny-qwen2").Float32.Config.SlidingWindow, Is.Null, "use_sliding_window: false disables the window of 16");
            Assert.That(FixtureReference.Get("tiny-llama3-rope").Float32.Config.Rope.Type, Is.EqualTo("llama3"));
            Assert.That(FixtureReference.Get("tiny-llama").Float32.HasLanguageModelHead, Is.True);
        });
    }

    private static IEnumerable<TestCaseData> PaddingCases() =>
        FixtureReference.NewFamilies.SelectMany(name => new[] { true, false }.Select(left =>
            new TestCaseData(name, left).SetName($"{name}/{(left ? "left" : "right")}-padded")));

    [TestCaseSource(nameof(PaddingCases))]
    public void Padded_batches_equal_one_text_at_a_time(string fixture, bool leftPadding)
    {
        using var scope = NewDisposeScope();
        var reference = FixtureReference.Get(fixture);
        var mode = reference.Modes[^1];
        var texts = Enumerable.Range(0, reference.TextCount).ToArray();
        var sequences = texts.Select(i => reference.Ids(mode, i)).ToArray();
        var length = sequences.Max(s => s.Length);
        var flatIds = new long[sequences.Length * length];
        var flatMask = new long[sequences.Length * length];
        for (var row = 0; row < sequences.Length; row++)
        {
            var start = row * length + (leftPadding ? length - sequences[row].Length : 0);
            sequences[row].CopyTo(flatIds, start);
            Array.Fill(flatMask, 1L, start, sequences[row].Length);
        }
        var hidden = reference.Float32.Model.forward(tensor(flatIds, [sequences.Length, length]), tensor(flatMask, [sequences.Length, length]));
        for (var row = 0; row < sequences.Length; row++)
        {
            var start = leftPadding ? length - sequences[row].Length : 0;
            var real = hidden[row, TensorIndex.Slice(start, start + sequences[row].Length)];
            Assert.That(ReferenceData.MaxAbsDiff(real, reference.Tensor($"float32/{mode}/{texts[row]}/last_hidden_state")),
                Is.LessThanOrEqualTo(Tolerance), $"text {texts[row]}");
        }
        Assert.That(hidden.isfinite().all().item<bool>(), Is.True, "padding rows must stay finite");
    }

    private static IEnumerable<TestCaseData> Fixtures() =>
        FixtureReference.NewFamilies.Select(name => new TestCaseData(name).SetName(name));

    [TestCaseSource(nameof(Fixtures))]
    public void Packed_rows_equal_one_text_at_a_time(string fixture)
    {
        using var scope = NewDisposeScope();
        var reference = FixtureReference.Get(fixture);
        var mode = reference.Modes[0];
        var all = Enumerable.Range(0, reference.TextCount).ToArray();
        int[][] rows = [all[..(all.Length / 2)], all[(all.Length / 2)..]];
        var sequences = rows.Select(row => row.Select(i => reference.Ids(mode, i)).ToArray()).ToArray();
        var length = sequences.Max(row => row.Sum(s => s.Length)) + 3; // trailing padding too
        var flatIds = new long[rows.Length * length];
        var flatLabels = new long[rows.Length * length];
        for (var r = 0; r < rows.Length; r++)
        {
            var offset = r * length;
            for (var k = 0; k < rows[r].Length; k++)
            {
                sequences[r][k].CopyTo(flatIds, offset);
                Array.Fill(flatLabels, k + 1L, offset, sequences[r][k].Length);
                offset += sequences[r][k].Length;
            }
        }
        var hidden = reference.Float32.Model.forward(tensor(flatIds, [rows.Length, length]), tensor(flatLabels, [rows.Length, length]));
        for (var r = 0; r < rows.Length; r++)
        {
            var offset = 0;
            for (var k = 0; k < rows[r].Length; k++)
            {
                var real = hidden[r, TensorIndex.Slice(offset, offset + sequences[r][k].Length)];
                Assert.That(ReferenceData.MaxAbsDiff(real, reference.Tensor($"float32/{mode}/{rows[r][k]}/last_hidden_state")),
                    Is.LessThanOrEqualTo(Tolerance), $"text {rows[r][k]}");
                offset += sequences[r][k].Length;
            }
        }
    }

    [TestCaseSource(nameof(Fixtures))]
    public void Bfloat16_compute_keeps_every_row_within_cosine_0_995(string fixture)
    {
        using var scope = NewDisposeScope();
        var reference = FixtureReference.Get(fixture);
        using var model = LastTokenEmbeddings.Modeling.DecoderForCausalLM.Load(reference.Directory,
            new LastTokenEmbeddings.Checkpoints.ModelLoadOptions { DType = LastTokenEmbeddings.Checkpoints.ComputeDType.BFloat16 });
        Assert.That(model.Model.DType, Is.EqualTo(ScalarType.BFloat16));
        foreach (var (mode, index) in reference.AllInputs())
        {
            var ids = tensor(reference.Ids(mode, index)).unsqueeze(0);
            var hidden = model.Model.forward(ids, ones_like(ids))[0].to(ScalarType.Float32);
            var expected = reference.Tensor($"float32/{mode}/{index}/last_hidden_state");
            var cosine = nn.functional.cosine_similarity(hidden, expected, dim: 1);
            Assert.That(cosine.min().item<float>(), Is.GreaterThanOrEqualTo(0.995f), $"{mode}/{index}");
        }
    }
}
