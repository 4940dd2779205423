using static TorchSharp.torch;

namespace LastTokenEmbeddings.Tests.Modeling;

/// <summary>The float32 forward pass reproduces every tensor transformers computed for the fixture.</summary>
public class ReferenceParityTests
{
    private const double Tolerance = 1e-4;

    private static IEnumerable<TestCaseData> Inputs() =>
        ReferenceData.AllInputs().Select(input => new TestCaseData(input.Mode, input.Index).SetName($"{input.Mode}/{input.Index}"));

    [TestCaseSource(nameof(Inputs))]
    public void Final_hidden_states_and_last_logits_match_transformers(string mode, int index)
    {
        using var scope = NewDisposeScope();
        var model = SharedModel.Float32;
        var ids = tensor(ReferenceData.Ids(mode, index)).unsqueeze(0);
        var hidden = model.Model.forward(ids, ones_like(ids));
        var expectedHidden = ReferenceData.Tensor($"float32/{mode}/{index}/last_hidden_state");
        Assert.That(ReferenceData.MaxAbsDiff(hidden[0], expectedHidden), Is.LessThanOrEqualTo(Tolerance), "last_hidden_state");

        var lastLogits = model.ComputeLogits(hidden[0, -1]);
        var expectedLogits = ReferenceData.Tensor($"float32/{mode}/{index}/logits_last");
        Assert.That(ReferenceData.MaxAbsDiff(lastLogits, expectedLogits), Is.LessThanOrEqualTo(Tolerance), "logits_last");
    }

    [Test]
    public void Every_layer_and_all_position_logits_match_transformers()
    {
        using var scope = NewDisposeScope();
        var model = SharedModel.Float32;
        var ids = tensor(ReferenceData.Ids("raw", 0)).unsqueeze(0);
        var mask = ones_like(ids);
        var expectedLayers = ReferenceData.Tensor("float32/raw/0/hidden_states_all_layers");
        Assert.That(expectedLayers.shape[0], Is.EqualTo(model.Config.NumHiddenLayers + 1));
        for (var layer = 0; layer <= model.Config.NumHiddenLayers; layer++)
        {
            var hidden = model.Model.Forward(ids, mask, layer);
            Assert.That(ReferenceData.MaxAbsDiff(hidden[0], expectedLayers[layer]), Is.LessThanOrEqualTo(Tolerance), $"hidden_states[{layer}]");
        }

        var logits = model.forward(ids, mask);
        Assert.That(ReferenceData.MaxAbsDiff(logits[0], ReferenceData.Tensor("float32/raw/0/logits_all")), Is.LessThanOrEqualTo(Tolerance), "logits_all");
    }
}
