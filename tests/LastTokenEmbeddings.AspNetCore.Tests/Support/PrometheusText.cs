using System.Globalization;
using System.Text.RegularExpressions;

namespace LastTokenEmbeddings.AspNetCore.Tests.Support;

/// <summary>One sample line of the Prometheus text format.</summary>
/// <param name="Name">The metric name (with <c>_bucket</c>, <c>_sum</c>, <c>_count</c> suffixes for histograms).</param>
/// <param name="Labels">Its labels.</param>
/// <param name="Value">Its value.</param>
public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>
/// A strict reader of the Prometheus text exposition format (version 0.0.4): every line must be blank, a
/// <c># HELP</c> or <c># TYPE</c> comment, or a sample <c>name{label="value",...} value [timestamp]</c>; each family
/// is typed once, before its samples. A malformed line throws <see cref="FormatException"/>.
/// </summary>
public static partial class PrometheusText
{
    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)( (?<timestamp>-?\d+))?$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex("""\G(?<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?<value>(\\.|[^"\\])*)",?""")]
    private static partial Regex LabelPair();

    [GeneratedRegex("""^# TYPE (?<name>[a-zA-Z_:][a-zA-Z0-9_:]*) (?<type>counter|gauge|histogram|summary|untyped)$""")]
    private static partial Regex TypeLine();

    [GeneratedRegex("""^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$""")]
    private static partial Regex HelpLine();

    /// <summary>Parses the exposition, failing the test on any malformed line; returns the samples and the families' types.</summary>
    public static (IReadOnlyList<PrometheusSample> Samples, IReadOnlyDictionary<string, string> Types) Parse(string text)
    {
        var samples = new List<PrometheusSample>();
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (line, number) in text.Split('\n').Select((l, i) => (l, i + 1)))
        {
            if (line.Length == 0)
                continue;
            if (line.StartsWith('#'))
            {
                if (TypeLine().Match(line) is { Success: true } type)
                {
                    Check(types.TryAdd(type.Groups["name"].Value, type.Groups["type"].Value), $"line {number}: family typed twice");
                    continue;
                }
                Check(HelpLine().IsMatch(line), $"line {number}: unknown comment '{line}'");
                continue;
            }
            var sample = SampleLine().Match(line);
            Check(sample.Success, $"line {number}: not a sample: '{line}'");
            var value = sample.Groups["value"].Value;
            Check(value is "+Inf" or "-Inf" or "NaN" || double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _), $"line {number}: value '{value}'");
            var name = sample.Groups["name"].Value;
            var family = types.Keys.FirstOrDefault(f => name == f || name == f + "_bucket" || name == f + "_sum" || name == f + "_count");
            Check(family is not null, $"line {number}: sample '{name}' before its # TYPE");
            samples.Add(new PrometheusSample(name, ParseLabels(sample.Groups["labels"].Value, number), ParseValue(value)));
        }
        return (samples, types);
    }

    private static Dictionary<string, string> ParseLabels(string labels, int line)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var position = 0;
        while (position < labels.Length)
        {
            var pair = LabelPair().Match(labels, position);
            Check(pair.Success, $"line {line}: bad labels '{labels}'");
            result.Add(pair.Groups["key"].Value, Regex.Unescape(pair.Groups["value"].Value));
            position += pair.Length;
        }
        return result;
    }

    private static void Check(bool condition, string problem)
    {
        if (!condition)
            throw new FormatException("Not Prometheus text format: " + problem);
    }

    private static double ParseValue(string value) => value switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture),
    };
}
