using System.Text.Json;
using LastTokenEmbeddings.Cli;
using LastTokenEmbeddings.Cli.Output;

namespace LastTokenEmbeddings.Tests.Cli;

/// <summary>The JSON writer's float contract and the --input format detection.</summary>
public class OutputFormatTests
{
    [Test]
    public void Floats_round_trip_exactly()
    {
        float[] values = [0.1f, 1f / 3, -2.5e-38f, float.Epsilon, float.MaxValue, -0f, 123456.79f, 1e-7f];
        using var writer = new StringWriter();
        JsonOutput.Write(writer, w => JsonOutput.WriteFloatArray(w, "v", values));
        var parsed = JsonDocument.Parse(writer.ToString()).RootElement.GetProperty("v").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.That(parsed.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(values.Select(BitConverter.SingleToInt32Bits)));
        Assert.That(writer.ToString(), Does.Contain("0.1,").And.Not.Contain("0.100000001"), "shortest form");
    }

    [Test]
    public void Non_finite_floats_become_strings()
    {
        using var writer = new StringWriter();
        JsonOutput.Write(writer, w => JsonOutput.WriteFloatArray(w, "v", [float.NaN, float.PositiveInfinity, float.NegativeInfinity]));
        Assert.That(writer.ToString().Trim(), Is.EqualTo("{\"v\":[\"NaN\",\"Infinity\",\"-Infinity\"]}"));
    }

    [Test]
    public void Plain_lines_skip_blank_lines_and_keep_spaces()
    {
        Assert.That(TextInput.Parse("a\r\n\n  b  \n   \nc"), Is.EqualTo(new[] { "a", "  b  ", "c" }));
    }

    [Test]
    public void Json_lines_need_every_line_to_be_an_object_with_a_string_text()
    {
        Assert.That(TextInput.Parse("{\"text\":\"x\\ny\"}\n\n{\"id\":1,\"text\":\"z\"}\n"), Is.EqualTo(new[] { "x\ny", "z" }));
        Assert.That(TextInput.Parse("{\"text\":\"x\"}\nplain"), Is.EqualTo(new[] { "{\"text\":\"x\"}", "plain" }));
        Assert.That(TextInput.Parse("{\"text\":1}"), Is.EqualTo(new[] { "{\"text\":1}" }));
    }

    [Test]
    public void Separation_is_matched_minus_mismatched_mean()
    {
        var m = new float[,] { { 1f, 0.5f, 0f }, { 0.25f, 0.5f, 0f }, { 0f, 0f, 0f } };
        Assert.That(LastTokenEmbeddings.Cli.Commands.CompareCommand.Separation(m), Is.EqualTo(0.5 - 0.75 / 6).Within(1e-9));
    }
}
