using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Modeling;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Tests.Modeling;

/// <summary>bfloat16 compute stays close to the float32 reference in direction (not element-wise).</summary>
public class ReducedPrecisionTests
{
    [Test]
    public void Bfloat16_hidden_states_have_cosine_at_least_0_999_with_float32_reference()
    {
        using var model = DecoderForCausalLM.Load(TestPaths.FixtureDirectory, new ModelLoadOptions { DType = ComputeDType.BFloat16 });
        Assert.That(model.Model.DType, Is.EqualTo(ScalarType.BFloat16));
        var worst = 1.0;
        foreach (var (mode, index) in ReferenceData.AllInputs())
        {
            using var scope = NewDisposeScope();
            var ids = tensor(ReferenceData.Ids(mode, index)).unsqueeze(0);
            var hidden = model.Model.forward(ids, ones_like(ids))[0].to(ScalarType.Float32);
            var expected = ReferenceData.Tensor($"float32/{mode}/{index}/last_hidden_state");
            var cosine = nn.functional.cosine_similarity(hidden, expected, dim: 1).min().item<float>();
            worst = Math.Min(worst, cosine);
        }
        Assert.That(worst, Is.GreaterThanOrEqualTo(0.999));
        TestContext.Out.WriteLine($"worst row cosine in bfloat16: {worst:F6}");
    }
}
