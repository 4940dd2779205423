using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Modeling;
using LastTokenEmbeddings.Tests.Checkpoints;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Tests.Modeling;

/// <summary>Reduced-precision compute stays close to the float32 reference in direction (not element-wise).</summary>
public class ReducedPrecisionTests
{
    private static double WorstRowCosine(DecoderForCausalLM model, IEnumerable<(string Mode, int Index)> inputs)
    {
        var worst = 1.0;
        foreach (var (mode, index) in inputs)
        {
            using var scope = NewDisposeScope();
            var ids = tensor(ReferenceData.Ids(mode, index)).unsqueeze(0);
            var hidden = model.Model.forward(ids, ones_like(ids))[0].to(ScalarType.Float32);
            var expected = ReferenceData.Tensor($"float32/{mode}/{index}/last_hidden_state");
            worst = Math.Min(worst, nn.functional.cosine_similarity(hidden, expected, dim: 1).min().item<float>());
        }
        return worst;
    }

    [Test]
    public void Bfloat16_hidden_states_have_cosine_at_least_0_999_with_float32_reference()
    {
        using var model = DecoderForCausalLM.Load(TestPaths.FixtureDirectory, new ModelLoadOptions { DType = ComputeDType.BFloat16 });
        Assert.That(model.Model.DType, Is.EqualTo(ScalarType.BFloat16));
        var worst = WorstRowCosine(model, ReferenceData.AllInputs());
        Assert.That(worst, Is.GreaterThanOrEqualTo(0.999));
        TestContext.Out.WriteLine($"worst row cosine in bfloat16: {worst:F6}");
    }

    [Test]
    public void Float16_compute_runs_a_forward_pass_close_to_the_float32_reference()
    {
        // Slow on CPUs without native float16 (a scalar fallback), so two short texts only.
        using var model = DecoderForCausalLM.Load(TestPaths.FixtureDirectory, new ModelLoadOptions { DType = ComputeDType.Float16 });
        Assert.That(model.Model.DType, Is.EqualTo(ScalarType.Float16));
        Assert.That(model.Checkpoint.ComputeDTypeReason, Is.EqualTo("requested"));
        Assert.That(WorstRowCosine(model, [("raw", 0), ("chat", 4)]), Is.GreaterThanOrEqualTo(0.999));
    }

    [Test]
    public void Mixed_stored_dtypes_are_unified_to_one_compute_dtype()
    {
        // Norms kept in F32, everything else stored as BF16: as some exports ship.
        using var variant = new FixtureRewriter().Config().Weights((name, t) => [(name, name.Contains("norm", StringComparison.Ordinal) ? t : t.to(ScalarType.BFloat16))]);
        using (var asStored = DecoderForCausalLM.Load(variant.Directory, new ModelLoadOptions { DType = ComputeDType.AsStored }))
        {
            Assert.That(asStored.Checkpoint.StoredDType, Is.EqualTo("BF16 + F32"));
            Assert.That(asStored.Model.DType, Is.EqualTo(ScalarType.BFloat16), "the dtype most bytes use");
            Assert.That(asStored.parameters().Select(p => p.dtype).Distinct(), Is.EqualTo(new[] { ScalarType.BFloat16 }), "one dtype for every parameter");
            Assert.That(WorstRowCosine(asStored, [("raw", 0), ("chat", 10)]), Is.GreaterThanOrEqualTo(0.999));
        }
        using var widened = DecoderForCausalLM.Load(variant.Directory, new ModelLoadOptions { DType = ComputeDType.Float32 });
        // Packed projections (float32 on MKL) compute from their packed copy and keep the stored tensor as their weight.
        var packedWeights = widened.named_modules().Where(m => m.module is ProjectionLinear { IsPacked: true }).Select(m => m.name + ".weight").ToHashSet();
        Assert.That(widened.named_parameters().Where(p => !packedWeights.Contains(p.name)).Select(p => p.parameter.dtype).Distinct(), Is.EqualTo(new[] { ScalarType.Float32 }));
        Assert.That(widened.named_parameters().Where(p => packedWeights.Contains(p.name)).Select(p => p.parameter.dtype).Distinct(),
            Is.EqualTo(LastTokenEmbeddings.Native.PackedSgemm.IsAvailable ? new[] { ScalarType.BFloat16 } : Array.Empty<ScalarType>()));
        Assert.That(WorstRowCosine(widened, [("raw", 0), ("chat", 10)]), Is.GreaterThanOrEqualTo(0.999));
    }

    [Test]
    public void Auto_picks_bfloat16_only_where_the_cpu_has_it_and_never_float16_without_native_float16()
    {
        using var variant = new FixtureRewriter().Config().Weights((name, t) => [(name, t.to(ScalarType.Float16))]);
        using var model = DecoderForCausalLM.Load(variant.Directory);
        var expected = LastTokenEmbeddings.Native.CpuFeatures.HasNativeFloat16 ? ScalarType.Float16
            : LastTokenEmbeddings.Native.CpuFeatures.HasNativeBFloat16 ? ScalarType.BFloat16 : ScalarType.Float32;
        Assert.That(model.Model.DType, Is.EqualTo(expected), model.Checkpoint.ComputeDTypeReason);
        Assert.That(model.Checkpoint.ComputeDTypeReason, Does.StartWith("auto:").And.Contains("stored float16"));
    }
}
