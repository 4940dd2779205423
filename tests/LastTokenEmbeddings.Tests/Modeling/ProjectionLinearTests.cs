using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Modeling;
using LastTokenEmbeddings.Native;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Tests.Modeling;

/// <summary>
/// Projections packed for MKL (<see cref="PackedSgemm"/>) give what <c>F.linear</c> gives, for any row count, input
/// layout and bias, from weights stored in float32 or bfloat16.
/// </summary>
public class ProjectionLinearTests
{
    [SetUp]
    public void RequirePacking()
    {
        if (!PackedSgemm.IsAvailable)
            Assert.Ignore("MKL's packed GEMM is not available here (not Linux x64, or LTE_PACKED_GEMM=0).");
    }

    [TestCase(1, 64, 64)]
    [TestCase(3, 37, 29)]
    [TestCase(64, 256, 1024)]
    [TestCase(300, 128, 96)]
    public void Packed_product_equals_linear(int rows, int inFeatures, int outFeatures)
    {
        using var scope = NewDisposeScope();
        manual_seed(rows * 1000 + inFeatures);
        var weight = randn(outFeatures, inFeatures);
        var bias = randn(outFeatures);
        var input = randn(2, rows, inFeatures);
        var expected = nn.functional.linear(input, weight, bias);
        using var projection = new ProjectionLinear(weight.clone(), bias.clone(), PackedSgemm.Pack(weight));
        Assert.That(projection.IsPacked, Is.True);
        var actual = projection.forward(input);
        Assert.That(actual.shape, Is.EqualTo(new long[] { 2, rows, outFeatures }));
        Assert.That(MaxRelativeError(actual, expected), Is.LessThan(1e-5));
    }

    [Test]
    public void Non_contiguous_inputs_are_read_by_their_strides()
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        var weight = randn(48, 32);
        var transposed = randn(32, 10).t(); // [10, 32], column-major in memory
        Assert.That(transposed.is_contiguous(), Is.False);
        using var projection = new ProjectionLinear(weight.clone(), null, PackedSgemm.Pack(weight));
        Assert.That(MaxRelativeError(projection.forward(transposed), nn.functional.linear(transposed, weight)), Is.LessThan(1e-5));
        var narrowed = randn(20, 32).narrow(0, 5, 7); // a row window with a storage offset
        Assert.That(MaxRelativeError(projection.forward(narrowed), nn.functional.linear(narrowed, weight)), Is.LessThan(1e-5));
    }

    [Test]
    public void A_bfloat16_stored_weight_is_packed_from_its_float32_values()
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        var stored = randn(40, 24).to(ScalarType.BFloat16);
        var input = randn(5, 24);
        using var projection = new ProjectionLinear(stored.clone(), null, PackedSgemm.Pack(stored));
        var expected = nn.functional.linear(input, stored.to(ScalarType.Float32));
        Assert.That(MaxRelativeError(projection.forward(input), expected), Is.LessThan(1e-5));
        // An input in another dtype takes the plain path, from the stored weight.
        var bf16 = projection.forward(input.to(ScalarType.BFloat16));
        Assert.That(bf16.dtype, Is.EqualTo(ScalarType.BFloat16));
        Assert.That(MaxRelativeError(bf16.to(ScalarType.Float32), expected), Is.LessThan(2e-2));
    }

    [Test]
    public void Zero_rows_give_an_empty_result()
    {
        using var scope = NewDisposeScope();
        var weight = randn(8, 4);
        using var projection = new ProjectionLinear(weight.clone(), null, PackedSgemm.Pack(weight));
        Assert.That(projection.forward(empty(0, 4)).shape, Is.EqualTo(new long[] { 0, 8 }));
    }

    [Test]
    public void Wrong_inputs_are_refused_with_the_shapes()
    {
        using var scope = NewDisposeScope();
        var weight = randn(8, 4);
        using var packed = PackedSgemm.Pack(weight);
        var error = Assert.Throws<ArgumentException>(() => PackedSgemm.Multiply(randn(3, 5), packed))!;
        Assert.That(error.Message, Does.Contain("[..., 4]").And.Contain("[3, 5]"));
        Assert.Throws<ArgumentException>(() => PackedSgemm.Pack(randn(2, 3, 4)));
    }

    [Test]
    public void A_disposed_packed_weight_is_refused_not_read()
    {
        using var scope = NewDisposeScope();
        var weight = randn(8, 4);
        var packed = PackedSgemm.Pack(weight);
        packed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => PackedSgemm.Multiply(randn(2, 4), packed));
    }

    [Test]
    public void Float32_models_pack_their_projections_and_not_the_lm_head()
    {
        using var model = DecoderForCausalLM.Load(TestPaths.FixtureDirectory, new ModelLoadOptions { DType = ComputeDType.Float32 });
        var projections = model.named_modules().Where(m => m.module is ProjectionLinear).ToList();
        Assert.That(projections, Has.Count.EqualTo(7 * model.Config.NumHiddenLayers));
        Assert.That(projections.All(p => ((ProjectionLinear)p.module).IsPacked), Is.True);
        using var bf16 = DecoderForCausalLM.Load(TestPaths.FixtureDirectory, new ModelLoadOptions { DType = ComputeDType.BFloat16 });
        Assert.That(bf16.named_modules().Select(m => m.module).OfType<ProjectionLinear>().Any(p => p.IsPacked), Is.False, "bfloat16 runs on oneDNN");
    }

    private static double MaxRelativeError(Tensor actual, Tensor expected)
    {
        using var scope = NewDisposeScope();
        var actualValues = actual.to(ScalarType.Float32).data<float>().ToArray();
        var expectedValues = expected.to(ScalarType.Float32).data<float>().ToArray();
        Assert.That(actualValues, Has.Length.EqualTo(expectedValues.Length));
        var scale = expectedValues.Max(Math.Abs);
        return actualValues.Zip(expectedValues, (a, e) => Math.Abs((double)a - e)).Max() / scale;
    }
}
