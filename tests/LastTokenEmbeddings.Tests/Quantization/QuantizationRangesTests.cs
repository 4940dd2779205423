using System.Text.Json;
using CsCheck;
using LastTokenEmbeddings.Quantization;
using LastTokenEmbeddings.Similarity;

namespace LastTokenEmbeddings.Tests.Quantization;

public class QuantizationRangesTests
{
    [Test]
    public void Calibrate_takes_each_dimensions_minimum_and_maximum()
    {
        var sample = EmbeddingMatrix.FromRows([[1f, -2f, 0f], [3f, 5f, 0f], [-4f, 0.5f, 0f]]);
        var ranges = QuantizationRanges.Calibrate(sample);
        Assert.That(ranges.Dimensions, Is.EqualTo(3));
        Assert.That(ranges.Minimums, Is.EqualTo(new[] { -4f, -2f, 0f }));
        Assert.That(ranges.Maximums, Is.EqualTo(new[] { 3f, 5f, 0f }));
    }

    [Test]
    public void Calibrate_needs_rows()
    {
        Assert.That(() => QuantizationRanges.Calibrate(EmbeddingMatrix.FromFlat(ReadOnlyMemory<float>.Empty, 4)), Throws.ArgumentException);
        Assert.That(() => QuantizationRanges.Calibrate(null!), Throws.ArgumentNullException);
    }

    [Test]
    public void Invalid_ranges_are_rejected()
    {
        Assert.That(() => new QuantizationRanges([], []), Throws.ArgumentException.With.Message.Contains("no dimensions"));
        Assert.That(() => new QuantizationRanges([0f], [1f, 2f]), Throws.ArgumentException.With.Message.Contains("1 minimums but 2 maximums"));
        Assert.That(() => new QuantizationRanges([0f, 2f], [1f, 1f]), Throws.ArgumentException.With.Message.Contains("Dimension 1's maximum 1 is below its minimum 2"));
        Assert.That(() => new QuantizationRanges([float.NaN], [1f]), Throws.ArgumentException.With.Message.Contains("not finite"));
        Assert.That(() => new QuantizationRanges([0f], [float.PositiveInfinity]), Throws.ArgumentException.With.Message.Contains("not finite"));
        Assert.That(() => new QuantizationRanges([-3e38f], [3e38f]), Throws.ArgumentException.With.Message.Contains("too wide"));
        Assert.That(() => new QuantizationRanges(null!, [1f]), Throws.ArgumentNullException);
    }

    [Test]
    public void The_lists_are_copied_and_read_only()
    {
        float[] minimums = [0f, 1f];
        var ranges = new QuantizationRanges(minimums, [1f, 2f]);
        minimums[0] = -5f;
        Assert.That(ranges.Minimums[0], Is.EqualTo(0f));
        Assert.That(ranges.Minimums, Is.Not.InstanceOf<float[]>());
    }

    [Test]
    public void Json_has_the_documented_shape()
    {
        var ranges = new QuantizationRanges([-0.5f, 0.1f], [1.25f, 3f]);
        Assert.That(ranges.ToJson(), Is.EqualTo("""{"minimums":[-0.5,0.1],"maximums":[1.25,3]}"""));
        Assert.That(JsonSerializer.Serialize(ranges), Is.EqualTo(ranges.ToJson()));
    }

    [Test]
    public void Json_round_trips_every_float_exactly()
    {
        // Arbitrary finite floats, including subnormals, -0 and values near float's limits (kept so max − min stays finite).
        var finite = Gen.Float.Where(x => float.IsFinite(x) && Math.Abs(x) < 1e38f);
        Gen.Select(finite, finite).Array[1, 20].Sample(pairs =>
        {
            var ranges = new QuantizationRanges(
                pairs.Select(p => Math.Min(p.Item1, p.Item2)).ToArray(), pairs.Select(p => Math.Max(p.Item1, p.Item2)).ToArray());
            var viaMethods = QuantizationRanges.FromJson(ranges.ToJson());
            var viaSerializer = JsonSerializer.Deserialize<QuantizationRanges>(JsonSerializer.Serialize(ranges))!;
            return BitwiseEqual(viaMethods, ranges) && BitwiseEqual(viaSerializer, ranges) && viaMethods.Equals(ranges);
        });
    }

    private static bool BitwiseEqual(QuantizationRanges a, QuantizationRanges b) =>
        a.Minimums.Select(BitConverter.SingleToInt32Bits).SequenceEqual(b.Minimums.Select(BitConverter.SingleToInt32Bits))
        && a.Maximums.Select(BitConverter.SingleToInt32Bits).SequenceEqual(b.Maximums.Select(BitConverter.SingleToInt32Bits));

    [TestCase("""{"minimums":[0,2],"maximums":[1,1]}""", "below its minimum")]
    [TestCase("""{"minimums":[0],"maximums":[1,2]}""", "maximums")]
    [TestCase("""{"minimums":[0]}""", "")]
    [TestCase("""{"minimums":[0],"maximums":["a"]}""", "")]
    [TestCase("""[1,2]""", "")]
    [TestCase("""null""", "null")]
    [TestCase("""{"minimums":[0],""", "")]
    public void Invalid_json_is_rejected_with_JsonException(string json, string messagePart) =>
        Assert.That(() => QuantizationRanges.FromJson(json), Throws.InstanceOf<JsonException>().With.Message.Contains(messagePart));

    [Test]
    public void Equality_compares_values()
    {
        var a = new QuantizationRanges([0f, 1f], [2f, 3f]);
        var same = new QuantizationRanges([-0f, 1f], [2f, 3f]);
        var other = new QuantizationRanges([0f, 1f], [2f, 3.5f]);
        Assert.That(a.Equals(same), Is.True);
        Assert.That(a.GetHashCode(), Is.EqualTo(same.GetHashCode()));
        Assert.That(a.Equals(other), Is.False);
        Assert.That(a.Equals(new QuantizationRanges([0f], [2f])), Is.False);
        Assert.That(a.Equals((object?)null), Is.False);
    }
}
