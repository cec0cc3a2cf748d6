namespace FastSidecar.Tests;

public class SmokeTests
{
    [Fact]
    public void MessageType_values_match_RFC6455_opcodes()
    {
        Assert.Equal(1, (int)MessageType.Text);
        Assert.Equal(2, (int)MessageType.Binary);
    }
}
