using LastTokenEmbeddings.AI;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Quantization;
using LastTokenEmbeddings.Similarity;
using LastTokenEmbeddings.Tests.Embeddings;
using LastTokenEmbeddings.Tokenization;
using Microsoft.Extensions.AI;

namespace LastTokenEmbeddings.Tests.AI;

/// <summary>int8 / uint8 / binary generators give exactly the codes the quantizers give for the float vectors.</summary>
public class QuantizingGeneratorTests
{
    private static string[] AllTexts() => Enumerable.Range(0, ReferenceData.TextCount).Select(ReferenceData.Text).ToArray();

    private static async Task<EmbeddingMatrix> FloatMatrix(IEmbeddingGenerator<string, Embedding<float>> generator, string[] texts, EmbeddingGenerationOptions? options = null) =>
        EmbeddingMatrix.FromRows((await generator.GenerateAsync(texts, options)).Select(e => e.Vector).ToArray());

    [Test]
    public async Task Calibration_takes_each_dimensions_range_over_the_sample()
    {
        using var model = EmbeddingFixture.View(PoolingStrategies.Mean, PromptFormat.Raw);
        using var generator = model.AsIEmbeddingGenerator();
        var texts = AllTexts();
        var ranges = await generator.CalibrateQuantizationRangesAsync(texts);
        var vectors = await FloatMatrix(generator, texts);
        Assert.That(ranges, Is.EqualTo(QuantizationRanges.Calibrate(vectors)));
        Assert.That(ranges.Minimums[0], Is.EqualTo(Enumerable.Range(0, vectors.RowCount).Min(i => vectors.Row(i)[0])));
        Assert.That(async () => await generator.CalibrateQuantizationRangesAsync([]), Throws.ArgumentException);
    }

    [Test]
    public async Task Int8_and_uint8_codes_equal_scalar_quantization_of_the_float_vectors()
    {
        using var model = EmbeddingFixture.View(PoolingStrategies.LastTokenHidden, PromptFormat.E5Instruct());
        using var generator = model.AsIEmbeddingGenerator(TextRole.Document);
        var texts = AllTexts();
        // Calibrated on part of the data, so the rest also exercises values outside the ranges (saturated codes).
        var ranges = await generator.CalibrateQuantizationRangesAsync(texts[..4]);
        var vectors = await FloatMatrix(generator, texts);
        var expectedInt8 = ScalarQuantization.QuantizeInt8(vectors, ranges);
        var expectedUInt8 = ScalarQuantization.QuantizeUInt8(vectors, ranges);

        using var int8 = generator.AsInt8EmbeddingGenerator(ranges);
        using var uint8 = generator.AsUInt8EmbeddingGenerator(ranges);
        var int8Codes = await int8.GenerateAsync(texts);
        var uint8Codes = await uint8.GenerateAsync(texts);
        Assert.That(int8Codes, Has.Count.EqualTo(texts.Length));
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.That(int8Codes[i].Vector.ToArray(), Is.EqualTo(expectedInt8.Row(i).ToArray()), $"int8 row {i}");
            Assert.That(uint8Codes[i].Vector.ToArray(), Is.EqualTo(expectedUInt8.Row(i).ToArray()), $"uint8 row {i}");
            Assert.That(int8Codes[i].ModelId, Is.EqualTo("tiny-mistral"));
        }
        Assert.That(int8Codes.SelectMany(e => e.Vector.ToArray()), Has.Some.EqualTo((sbyte)127).And.Some.EqualTo((sbyte)-128), "some values fell outside the calibration");
        Assert.That(int8Codes.Usage!.InputTokenCount, Is.EqualTo(texts.Sum(t => model.Tokenize(t, TextRole.Document).Length)), "usage passes through");
        Assert.That(int8.GetService<QuantizationRanges>(), Is.SameAs(ranges));
        Assert.That(int8.GetService<EmbeddingGeneratorMetadata>()!.DefaultModelId, Is.EqualTo("tiny-mistral"), "metadata passes through");
        Assert.That(int8.GetService<IEmbeddingModel>(), Is.SameAs(model));
    }

    [Test]
    public async Task Binary_codes_are_the_sign_bits_of_the_float_vectors()
    {
        using var model = EmbeddingFixture.View(PoolingStrategies.Mean, PromptFormat.MistralInstruct);
        using var generator = model.AsIEmbeddingGenerator();
        var texts = AllTexts();
        var vectors = await FloatMatrix(generator, texts, new EmbeddingGenerationOptions { Dimensions = 60 });
        var expected = BinaryQuantization.Quantize(vectors);
        using var binary = generator.AsBinaryEmbeddingGenerator();
        var codes = await binary.GenerateAsync(texts, new EmbeddingGenerationOptions { Dimensions = 60 });
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.That(codes[i].Dimensions, Is.EqualTo(60));
            Assert.That(codes[i].Vector.Cast<bool>(), Is.EqualTo(expected.ToBinaryEmbedding(i).Vector.Cast<bool>()), $"row {i}");
            Assert.That(codes[i].Vector.Cast<bool>(), Is.EqualTo(vectors.Row(i).ToArray().Select(x => x > 0)), $"row {i}: bit d is x_d > 0");
        }
        Assert.That(BinaryQuantizedMatrix.FromBinaryEmbeddings(codes).Values.ToArray(), Is.EqualTo(expected.Values.ToArray()), "packs back to the same bytes");
    }

    [Test]
    public async Task Ranges_of_other_dimensions_are_refused_and_empty_calls_give_nothing()
    {
        using var model = EmbeddingFixture.View(PoolingStrategies.Mean, PromptFormat.Raw);
        using var generator = model.AsIEmbeddingGenerator();
        var ranges = await generator.CalibrateQuantizationRangesAsync(AllTexts());
        using var int8 = generator.AsInt8EmbeddingGenerator(ranges);
        Assert.That(async () => await int8.GenerateAsync(["x"], new EmbeddingGenerationOptions { Dimensions = 32 }),
            Throws.InvalidOperationException.With.Message.Contains("32 dimensions").And.Message.Contains("64"));
        Assert.That(await int8.GenerateAsync([]), Is.Empty);
        using var binary = generator.AsBinaryEmbeddingGenerator();
        Assert.That(await binary.GenerateAsync([]), Is.Empty);
    }

    [Test]
    public async Task Disposing_a_quantized_generator_leaves_the_float_generator_usable()
    {
        // This float generator owns its model, so disposing it would make the next call fail.
        using var generator = new LastTokenEmbeddingGenerator(EmbeddingFixture.View(PoolingStrategies.Mean, PromptFormat.Raw), ownsModel: true);
        generator.AsBinaryEmbeddingGenerator().Dispose();
        generator.AsInt8EmbeddingGenerator(new QuantizationRanges(new float[64], Enumerable.Repeat(1f, 64).ToArray())).Dispose();
        Assert.That((await generator.GenerateAsync(["still here"]))[0].Vector.Length, Is.EqualTo(64));
    }
}
