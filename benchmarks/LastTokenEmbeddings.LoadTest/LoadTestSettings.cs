using System.Globalization;

namespace LastTokenEmbeddings.LoadTest;

/// <summary>The load test's command line.</summary>
internal sealed class LoadTestSettings
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>A model directory; <see langword="null"/> with no preset: the vendored tiny fixture.</summary>
    public string? ModelDirectory { get; private set; }

    /// <summary>A checkpoint preset to synthesize (cached), e.g. 109m.</summary>
    public string? Preset { get; private set; }

    /// <summary>Compute dtype name.</summary>
    public string DType { get; private set; } = "auto";

    /// <summary>Concurrent clients per run.</summary>
    public IReadOnlyList<int> Clients { get; private set; } = [1, 16, 64];

    /// <summary>Batching modes to run: true = cross-request batching on.</summary>
    public IReadOnlyList<bool> Batching { get; private set; } = [true, false];

    /// <summary>Measured seconds per run.</summary>
    public double Seconds { get; private set; } = 10;

    /// <summary>Warm-up seconds per run (not measured).</summary>
    public double WarmupSeconds { get; private set; } = 2;

    /// <summary>Most requests one run sends (keeps every loop bounded in count as well as time).</summary>
    public int MaxRequests { get; private set; } = 100_000;

    /// <summary>Words per text (about 1.3 tokens each with a Mistral tokenizer).</summary>
    public int Words { get; private set; } = 24;

    /// <summary>Texts per request.</summary>
    public int TextsPerRequest { get; private set; } = 1;

    /// <summary>The route: <c>embed</c> (TEI) or <c>openai</c>.</summary>
    public string Endpoint { get; private set; } = "embed";

    /// <summary>Also run the closed loop against the model directly (no HTTP), as a baseline.</summary>
    public bool LibraryBaseline { get; private set; }

    /// <summary>CI mode: tiny model, two short runs per mode, finishes in seconds.</summary>
    public bool Smoke { get; private set; }

    public static LoadTestSettings Parse(string[] args)
    {
        var settings = new LoadTestSettings();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--model": settings.ModelDirectory = Next(); break;
                case "--synthesize": settings.Preset = Next(); break;
                case "--dtype": settings.DType = Next(); break;
                case "--clients": settings.Clients = [.. Next().Split(',').Select(c => Positive(c, "--clients"))]; break;
                case "--batching":
                    settings.Batching = Next() switch
                    {
                        "on" => [true],
                        "off" => [false],
                        "both" => [true, false],
                        var other => throw new ArgumentException($"--batching must be on, off or both, not '{other}'"),
                    };
                    break;
                case "--seconds": settings.Seconds = double.Parse(Next(), Invariant); break;
                case "--warmup": settings.WarmupSeconds = double.Parse(Next(), Invariant); break;
                case "--max-requests": settings.MaxRequests = Positive(Next(), "--max-requests"); break;
                case "--words": settings.Words = Positive(Next(), "--words"); break;
                case "--texts-per-request": settings.TextsPerRequest = Positive(Next(), "--texts-per-request"); break;
                case "--endpoint":
                    var endpoint = Next();
                    settings.Endpoint = endpoint is "embed" or "openai" ? endpoint : throw new ArgumentException($"--endpoint must be embed or openai, not '{endpoint}'");
                    break;
                case "--smoke": settings.Smoke = true; break;
                case "--library-baseline": settings.LibraryBaseline = true; break;
                default: throw new ArgumentException($"unknown argument '{args[i]}' (see --help)");
            }
        }
        if (settings.ModelDirectory is not null && settings.Preset is not null)
            throw new ArgumentException("give --model or --synthesize, not both");
        if (settings.Smoke)
        {
            settings.ModelDirectory = null;
            settings.Preset = null;
            settings.Clients = [1, 8];
            settings.Seconds = 0.5;
            settings.WarmupSeconds = 0.2;
            settings.MaxRequests = 2_000;
        }
        if (settings.ModelDirectory is null && settings.Preset is null && settings.DType == "auto")
            settings.DType = "float32"; // the tiny fixture is stored in float32
        return settings;
    }

    public const string Help = """
        LastTokenEmbeddings load test: an in-process Kestrel embedding server on 127.0.0.1, driven by closed-loop clients.

          --model DIR             model directory (default: tests/fixtures/tiny-mistral)
          --synthesize PRESET     synthesize a checkpoint preset (109m, tinyllama-1.1b, ...) into $LTE_SYNTH_DIR or $TMPDIR/lte-bench-synth (cached)
          --dtype NAME            auto|stored|float32|bfloat16|float16 (default auto; float32 for the fixture)
          --clients LIST          concurrent clients per run, e.g. 1,16,64 (default)
          --batching on|off|both  cross-request batching on, off (requests embedded one at a time), or both (default)
          --seconds S             measured seconds per run (default 10); --warmup S (default 2)
          --max-requests N        cap on requests per run (default 100000)
          --words N               words per text (default 24); --texts-per-request N (default 1)
          --endpoint embed|openai POST /embed (default) or /v1/embeddings
          --library-baseline      also drive the model directly (no HTTP, no JSON) with the same clients
          --smoke                 CI: tiny model, 1 and 8 clients, half a second each
          --spinning-openmp       keep OpenMP's spinning waits (default: OMP_WAIT_POLICY=PASSIVE, as the server host sets)
        """;

    private static int Positive(string text, string option) =>
        int.TryParse(text, NumberStyles.Integer, Invariant, out var value) && value > 0 ? value : throw new ArgumentException($"{option} needs positive integers, not '{text}'");
}
