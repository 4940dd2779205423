using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Tests.Embeddings;
using LastTokenEmbeddings.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Tests.Pooling;

public class CustomPoolingTests
{
    /// <summary>The example from docs/pooling.md.</summary>
    private sealed class MaxPooling : IPoolingStrategy
    {
        public string Name => "max";
        public int? Layer => null;
        public int OutputDimension(DecoderConfig config) => config.HiddenSize;
        public Tensor Pool(PoolingContext context)
        {
            using var scope = torch.NewDisposeScope();
            var masked = context.HiddenStates.to(torch.float32)
                .masked_fill(context.AttentionMask.logical_not().unsqueeze(-1), SafeScalars.Of(float.NegativeInfinity));
            return masked.max(1).values.MoveToOuterDisposeScope();
        }
    }

    [Test]
    public void A_user_strategy_plugs_in_and_sees_only_real_tokens()
    {
        using var model = EmbeddingFixture.View(new MaxPooling(), PromptFormat.Raw, normalize: false);
        var texts = new[] { ReferenceData.Text(10), ReferenceData.Text(6), ReferenceData.Text(2) }; // padded batch
        var vectors = model.Embed(texts);
        foreach (var (text, index) in new[] { (0, 10), (1, 6), (2, 2) })
        {
            using var expected = ReferenceData.Tensor($"float32/raw/{index}/last_hidden_state");
            using var max = expected.max(0).values;
            Assert.That(vectors[text].Vector, Is.EqualTo(max.data<float>().ToArray()).Within(1e-4));
        }
    }

    [Test]
    public void Weighted_mean_matches_its_definition_on_the_reference()
    {
        using var model = EmbeddingFixture.View(PoolingStrategies.WeightedMean, PromptFormat.MistralInstruct, normalize: false);
        var vectors = model.Embed([ReferenceData.Text(3), ReferenceData.Text(5)]);
        foreach (var (row, index) in new[] { (0, 3), (1, 5) })
        {
            using var scope = NewDisposeScope();
            var hidden = ReferenceData.Tensor($"float32/chat/{index}/last_hidden_state");
            var weights = TestTensors.Range(1, hidden.shape[0] + 1).unsqueeze(1);
            var expected = (hidden * weights).sum(dim: 0) / weights.sum();
            Assert.That(vectors[row].Vector, Is.EqualTo(expected.data<float>().ToArray()).Within(1e-4));
        }
    }

    [TestCase("last-token-logits", null, typeof(LastTokenLogitsPooling))]
    [TestCase("Last-Token-Hidden", 1, typeof(LastTokenHiddenPooling))]
    [TestCase("mean", null, typeof(MeanPooling))]
    [TestCase("weighted-mean", 0, typeof(WeightedMeanPooling))]
    public void Parse_finds_built_in_strategies(string name, int? layer, Type expected)
    {
        var strategy = PoolingStrategies.Parse(name, layer);
        Assert.That(strategy, Is.InstanceOf(expected));
        Assert.That(strategy.Layer, Is.EqualTo(layer));
    }

    [Test]
    public void Parse_rejects_unknown_names_and_layers_for_logits()
    {
        Assert.That(() => PoolingStrategies.Parse("cls"), Throws.ArgumentException.With.Message.Contains("weighted-mean"));
        Assert.That(() => PoolingStrategies.Parse("last-token-logits", 1), Throws.ArgumentException);
    }
}
