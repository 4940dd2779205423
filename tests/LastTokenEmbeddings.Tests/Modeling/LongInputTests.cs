using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Checkpoints.Safetensors;
using LastTokenEmbeddings.Modeling;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Tests.Modeling;

/// <summary>
/// Long inputs attend in query blocks (no [seq, seq] mask) and run the MLP in token chunks: the results equal the
/// whole-sequence computation, and a 32,768-token text with a 4,096 window runs.
/// </summary>
[NonParallelizable]
public class LongInputTests
{
    private int threshold;
    private int block;
    private int chunk;

    [SetUp]
    public void Save() => (threshold, block, chunk) = (DecoderModel.BlockedAttentionThreshold, DecoderModel.AttentionQueryBlock, DecoderMLP.TokenChunk);

    [TearDown]
    public void Restore() => (DecoderModel.BlockedAttentionThreshold, DecoderModel.AttentionQueryBlock, DecoderMLP.TokenChunk) = (threshold, block, chunk);

    [TestCase("raw", 10)]
    [TestCase("chat", 10)]
    [TestCase("e5", 3)]
    public void Blocked_attention_and_chunked_mlp_reproduce_the_reference(string mode, int index)
    {
        // Force the long-input paths on the fixture: blocks of 7 queries against a window of 24, MLP chunks of 50 tokens.
        (DecoderModel.BlockedAttentionThreshold, DecoderModel.AttentionQueryBlock, DecoderMLP.TokenChunk) = (16, 7, 50);
        using var scope = NewDisposeScope();
        var model = SharedModel.Float32;
        var ids = tensor(ReferenceData.Ids(mode, index)).unsqueeze(0);
        var hidden = model.Model.forward(ids, ones_like(ids));
        Assert.That(ReferenceData.MaxAbsDiff(hidden[0], ReferenceData.Tensor($"float32/{mode}/{index}/last_hidden_state")), Is.LessThanOrEqualTo(1e-4));
    }

    [Test]
    public void Blocked_attention_keeps_padded_and_packed_texts_apart()
    {
        (DecoderModel.BlockedAttentionThreshold, DecoderModel.AttentionQueryBlock) = (16, 5);
        using var scope = NewDisposeScope();
        var model = SharedModel.Float32;
        long[][] texts = [ReferenceData.Ids("raw", 0), ReferenceData.Ids("raw", 4), ReferenceData.Ids("chat", 2)];
        var length = texts.Sum(t => t.Length) + 6;
        // Row 0: left padding then text 0; row 1: texts 4 and chat 2 packed, then padding.
        var flatIds = new long[2 * length];
        var labels = new long[2 * length];
        texts[0].CopyTo(flatIds, length - texts[0].Length);
        Array.Fill(labels, 1L, length - texts[0].Length, texts[0].Length);
        texts[1].CopyTo(flatIds, length);
        Array.Fill(labels, 1L, length, texts[1].Length);
        texts[2].CopyTo(flatIds, length + texts[1].Length);
        Array.Fill(labels, 2L, length + texts[1].Length, texts[2].Length);
        var hidden = model.Model.forward(tensor(flatIds, [2, length]), tensor(labels, [2, length]));
        Assert.That(ReferenceData.MaxAbsDiff(hidden[0, TensorIndex.Slice(length - texts[0].Length, length)], ReferenceData.Tensor("float32/raw/0/last_hidden_state")), Is.LessThanOrEqualTo(1e-4));
        Assert.That(ReferenceData.MaxAbsDiff(hidden[1, TensorIndex.Slice(0, texts[1].Length)], ReferenceData.Tensor("float32/raw/4/last_hidden_state")), Is.LessThanOrEqualTo(1e-4));
        Assert.That(ReferenceData.MaxAbsDiff(hidden[1, TensorIndex.Slice(texts[1].Length, texts[1].Length + texts[2].Length)], ReferenceData.Tensor("float32/chat/2/last_hidden_state")), Is.LessThanOrEqualTo(1e-4));
    }

    [Test]
    public void A_text_of_32768_tokens_with_a_4096_window_runs_and_blocks_do_not_change_it()
    {
        var directory = Path.Combine(Path.GetTempPath(), "lte-long-" + Guid.NewGuid().ToString("N"));
        try
        {
            var config = new DecoderConfig
            {
                Family = ModelFamily.Mistral, VocabSize = 32000, HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2,
                NumAttentionHeads = 4, NumKeyValueHeads = 2, HeadDim = 8, MaxPositionEmbeddings = 32768, LayerSlidingWindows = [4096, 4096],
            };
            CheckpointSynthesizer.Write(directory, config, SafetensorsDType.F32);
            using var model = DecoderForCausalLM.Load(directory, new ModelLoadOptions { DType = ComputeDType.Float32 });
            using var scope = NewDisposeScope();
            var ids = tensor(Enumerable.Range(0, 32768).Select(i => 3L + i * 7919L % 31997).ToArray()).unsqueeze(0);
            var last = model.Model.forward(ids, ones_like(ids))[0, -1];
            Assert.That(last.isfinite().all().item<bool>(), Is.True);
            DecoderModel.AttentionQueryBlock = 2048;
            var again = model.Model.forward(ids, ones_like(ids))[0, -1];
            Assert.That(ReferenceData.MaxAbsDiff(again, last), Is.LessThanOrEqualTo(1e-5), "the block size does not change the result");
        }
        finally
        {
            if (Directory.Exists(directory))
                Directory.Delete(directory, recursive: true);
        }
    }
}
